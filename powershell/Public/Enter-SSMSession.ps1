function Enter-SSMSession {
    <#
    .SYNOPSIS
    Opens an interactive shell on a managed node in this terminal, through Session Manager,
    in-process: no session-manager-plugin needed.

    .DESCRIPTION
    Starts a shell session (no document: the node's default shell, Standard_Stream; or
    AWS-StartInteractiveCommand with -Command) to -Target, or takes a started session from
    the pipeline (Start-SSMSession's output: SessionId, StreamUrl, TokenValue by property
    name), and attaches it to this terminal like Enter-PSSession or ssh: the terminal is in
    raw mode while connected and always restored afterwards, every key — Ctrl+C, Ctrl+Z and
    Ctrl+\ included — goes to the remote shell, the terminal size is sent at the start and
    whenever it changes, and output is written straight to the terminal, UTF-8 both ways.

    Type ~. after Enter to leave a session that hangs (~? lists the sequences, ~~ types a
    ~); -EscapeCharacter chooses another character or turns escapes off. When the session
    ends the plugin's lines are printed ("Exiting session with sessionId: ...") and the
    prompt returns; a session left with the escape is terminated unless -KeepSession.

    When the agent reports the remote exit code, it is set in $LASTEXITCODE. -PassThru
    outputs an SSMSession.ShellResult (SessionId, Target, State, Message, Escaped,
    ExitCode). KMS-encrypted sessions are encrypted both ways (see
    Invoke-SSMSessionCommand). Credentials and region resolve as for Start-SSMSession.

    Needs a terminal: run it from an interactive pwsh on Linux or macOS (the Windows
    console is not supported yet).

    .PARAMETER SessionId
    The started shell session to attach to (Start-SSMSession's SessionId).

    .PARAMETER StreamUrl
    The session's data channel URL (Start-SSMSession's StreamUrl).

    .PARAMETER TokenValue
    The session's data channel token (Start-SSMSession's TokenValue).

    .PARAMETER Target
    Starts a session to this managed node first, e.g. i-0123456789abcdef0.

    .PARAMETER Command
    Runs this command under a terminal instead of a shell (AWS-StartInteractiveCommand),
    e.g. 'top' or 'sudo -i'.

    .PARAMETER DocumentName
    The session document of the session started with -Target, e.g. a custom
    Standard_Stream or InteractiveCommands document (default: the account's shell
    preferences, SSM-SessionManagerRunShell).

    .PARAMETER Parameter
    The document parameters of the session started with -Target.

    .PARAMETER Reason
    The reason recorded with the session started with -Target.

    .PARAMETER EscapeCharacter
    The escape character (default ~): after Enter, the character and '.' end the session.
    'none' turns escapes off.

    .PARAMETER KeepSession
    Leaves the session open on the service when it is left with the escape sequence (it can
    be resumed), instead of terminating it.

    .PARAMETER KeepAliveSec
    Sends a WebSocket ping this often (default 30, or the SSMSESSION_KEEPALIVE_SECONDS
    environment variable; 0 turns the pings off), so that proxies and NAT devices do not
    drop an idle session; when nothing at all is heard from the service for two intervals
    (plus up to 10 s), the connection is taken for dead and the session resumed.

    .PARAMETER StallTimeoutSec
    Gives the session up when the agent leaves data unacknowledged this long (default 300).

    .PARAMETER PassThru
    Outputs an SSMSession.ShellResult when the session ends.

    .PARAMETER ClientConfig
    Client settings as for Start-SSMSession -ClientConfig.

    .PARAMETER AccessKey
    The AWS access key id; use with -SecretKey (and -SessionToken for temporary keys).

    .PARAMETER SecretKey
    The AWS secret access key that belongs to -AccessKey.

    .PARAMETER SessionToken
    The session token that belongs to temporary -AccessKey/-SecretKey credentials.

    .PARAMETER Credential
    Credentials to use, as for Start-SSMSession -Credential.

    .PARAMETER ProfileName
    A named profile in the shared AWS config and credentials files.

    .PARAMETER ProfileLocation
    A credentials file to read profiles from instead of the default shared files.

    .PARAMETER Region
    The region of the node, as a system name such as eu-west-3.

    .PARAMETER EndpointUrl
    The SSM endpoint (e.g. the local emulator, http://127.0.0.1:<port>).

    .EXAMPLE
    Enter-SSMSession -Target i-0123456789abcdef0 -Region eu-west-3

    A shell on the instance in this terminal; exit (or ~.) returns to PowerShell.

    .EXAMPLE
    Enter-SSMSession i-0123456789abcdef0 -Command 'sudo journalctl -f' -EscapeCharacter '%'

    Follows a log under a terminal; %. after Enter leaves it.

    .EXAMPLE
    $e = Start-SSMSessionEmulator; $p = $e.Parameters
    Enter-SSMSession -Target i-0123456789abcdef0 @p -PassThru

    A shell on this machine through the local emulator, then its result object.

    .INPUTS
    Objects with SessionId, StreamUrl and TokenValue properties (Start-SSMSession's output).

    .OUTPUTS
    SSMSession.ShellResult (with -PassThru)

    .LINK
    Connect-SSMSession

    .LINK
    Invoke-SSMSessionCommand
    #>
    [CmdletBinding(DefaultParameterSetName = 'Target', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('SSMSession.ShellResult')]
    [Diagnostics.CodeAnalysis.SuppressMessageAttribute('PSAvoidGlobalVars', '', Justification = 'The remote exit code goes to the caller''s $LASTEXITCODE, as a native command''s does.')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Session', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $SessionId,

        [Parameter(Mandatory, ParameterSetName = 'Session', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $StreamUrl,

        [Parameter(Mandatory, ParameterSetName = 'Session', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $TokenValue,

        [Parameter(Mandatory, Position = 0, ParameterSetName = 'Target')]
        [Alias('InstanceId')]
        [ValidateNotNullOrEmpty()]
        [string] $Target,

        [Parameter(ParameterSetName = 'Target')]
        [ValidateNotNullOrEmpty()]
        [string] $Command,

        [Parameter(ParameterSetName = 'Target')]
        [string] $DocumentName,

        [Parameter(ParameterSetName = 'Target')]
        [Alias('Parameters')]
        [hashtable] $Parameter,

        [Parameter(ParameterSetName = 'Target')]
        [string] $Reason,

        [ValidateNotNullOrEmpty()]
        [string] $EscapeCharacter = '~',

        [switch] $KeepSession,

        [ValidateRange(0, 86400)]
        [int] $KeepAliveSec,

        [ValidateRange(1, 86400)]
        [int] $StallTimeoutSec,

        [switch] $PassThru,

        [object] $ClientConfig,

        [Alias('AK')]
        [string] $AccessKey,

        [Alias('SK', 'SecretAccessKey')]
        [string] $SecretKey,

        [Alias('ST')]
        [string] $SessionToken,

        [object] $Credential,

        [Alias('StoredCredentials', 'AWSProfileName')]
        [string] $ProfileName,

        [Alias('AWSProfilesLocation', 'ProfilesLocation')]
        [string] $ProfileLocation,

        [Alias('RegionToCall')]
        [object] $Region,

        [string] $EndpointUrl
    )

    begin {
        . Use-SSMCallerPreference -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters
        $requestParameters = @('Target', 'DocumentName', 'Parameter', 'Reason') + $script:SSMClientParameterNames
    }

    process {
        $startedHere = $null
        $attached = $false
        $client = $null
        try {
            if ($Command -and ($DocumentName -or $Parameter)) {
                throw [System.Management.Automation.ErrorRecord]::new(
                    [System.ArgumentException]::new('-Command starts an AWS-StartInteractiveCommand session; it cannot be combined with -DocumentName or -Parameter.'),
                    'SSMSession.CommandWithDocument', [System.Management.Automation.ErrorCategory]::InvalidArgument, $Command)
            }
            if ($EscapeCharacter -ne 'none' -and ($EscapeCharacter.Length -ne 1 -or [int][char]$EscapeCharacter -lt 33 -or [int][char]$EscapeCharacter -gt 126)) {
                throw [System.Management.Automation.ErrorRecord]::new(
                    [System.ArgumentException]::new("The escape character must be one printable ASCII character, or 'none'; got '$EscapeCharacter'."),
                    'SSMSession.InvalidEscapeCharacter', [System.Management.Automation.ErrorCategory]::InvalidArgument, $EscapeCharacter)
            }
            $bound = @{}
            foreach ($name in $requestParameters) {
                if ($PSBoundParameters.ContainsKey($name)) { $bound[$name] = $PSBoundParameters[$name] }
            }
            if ($Command) {
                $bound.DocumentName = 'AWS-StartInteractiveCommand'
                $bound.Parameter = @{ command = $Command }
            }
            $built = ConvertTo-SSMServiceRequest -BoundParameters $bound -Cmdlet $PSCmdlet -ExplicitParameters @($PSBoundParameters.Keys)
            $client = $built.Request.Client
            $ownClient = @($script:SSMClientParameterNames | Where-Object { $PSBoundParameters.ContainsKey($_) }).Count -gt 0
            if ($PSCmdlet.ParameterSetName -eq 'Session' -and -not $ownClient) {
                $remembered = Get-SSMSessionClient -SessionId $SessionId
                if ($null -ne $remembered) { $client = $remembered }
            }
            $subject = if ($Target) { $Target } else { $SessionId }
            $resolved = Resolve-SSMClient -Client $client
            if (-not $resolved.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $resolved.Error -TargetObject $subject)
            }

            if ($PSCmdlet.ParameterSetName -eq 'Target') {
                if (-not $PSCmdlet.ShouldProcess($Target, 'Enter-SSMSession (StartSession and attach this terminal)')) { return }
                Write-Verbose "Invoking AWS Systems Manager operation 'StartSession' $(Get-SSMDestinationText -Client $client -Region $resolved.Data.Region)"
                $started = Invoke-SSMOperation -Operation StartSession -Request $built.Request
                if (-not $started.Ok) {
                    throw (ConvertTo-SSMErrorRecord -ErrorInfo $started.Error -TargetObject $Target)
                }
                $startedHere = $started.Data.SessionId
                $session = @{ SessionId = $started.Data.SessionId; StreamUrl = $started.Data.StreamUrl; TokenValue = $started.Data.TokenValue; Target = $Target }
            } else {
                if (-not $PSCmdlet.ShouldProcess($SessionId, 'Enter-SSMSession (attach this terminal)')) { return }
                $session = @{ SessionId = $SessionId; StreamUrl = $StreamUrl; TokenValue = $TokenValue }
            }
            $session.Client = $client
            $session.KeepSession = [bool]$KeepSession
            if ($PSBoundParameters.ContainsKey('StallTimeoutSec')) { $session.StallTimeoutMs = 1000 * $StallTimeoutSec }
            if ($PSBoundParameters.ContainsKey('KeepAliveSec')) { $session.KeepAliveSeconds = $KeepAliveSec }

            Write-Verbose "Opening the data channel of session $($session.SessionId) and attaching the terminal"
            # The native call owns the terminal until the session ends.
            $result = Invoke-SSMOperation -Operation RunShell -Request @{ Session = $session; EscapeCharacter = $EscapeCharacter }
            if (-not $result.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $result.Error -TargetObject $subject)
            }
            $attached = $true
            $data = $result.Data
            if ($data.State -eq 'Failed') {
                $failure = [pscustomobject]@{ Kind = 'dataChannel'; Code = 'DataChannelFailed'; Message = [string]$data.Message; RequestId = $null; HttpStatus = $null }
                $PSCmdlet.WriteError((ConvertTo-SSMErrorRecord -ErrorInfo $failure -TargetObject $subject))
            }
            if ($null -ne $data.ExitCode) { $global:LASTEXITCODE = [int]$data.ExitCode }
            if ($PassThru) {
                [pscustomobject]@{
                    PSTypeName = 'SSMSession.ShellResult'
                    SessionId  = $data.SessionId
                    Target     = $Target
                    State      = $data.State
                    Message    = $data.Message
                    Escaped    = [bool]$data.Escaped
                    ExitCode   = $data.ExitCode
                }
            }
        } catch {
            $PSCmdlet.ThrowTerminatingError($_)
        } finally {
            # A session started here that never got attached (an error, or Ctrl+C before the
            # channel opened) is not left open; once attached, the native side ends it.
            if ($null -ne $startedHere -and -not $attached -and -not $KeepSession) {
                $null = Invoke-SSMOperation -Operation TerminateSession -Request @{ SessionId = $startedHere; Client = $client }
            }
        }
    }
}
