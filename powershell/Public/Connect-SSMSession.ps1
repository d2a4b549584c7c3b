function Connect-SSMSession {
    <#
    .SYNOPSIS
    Opens the data channel of a Session Manager port forwarding session and forwards a
    local port through it, in-process: no session-manager-plugin needed.

    .DESCRIPTION
    Takes a started session from the pipeline (Start-SSMSession's output: SessionId,
    StreamUrl, TokenValue by property name) or starts one itself with -Target and
    -DocumentName AWS-StartPortForwardingSession or
    AWS-StartPortForwardingSessionToRemoteHost. It then listens on 127.0.0.1 at the
    session's localPortNumber (or -LocalPortNumber; 0 picks a free port) and carries every
    local connection to the target's portNumber: many connections at once over one smux
    session with current agents, one at a time with agents older than 3.0.196.0.

    In the foreground it prints the plugin's lines ("Port 8080 opened for sessionId ...",
    "Waiting for connections..."), shows connections and bytes with Write-Progress, and
    runs until Ctrl+C, -TimeoutSec, or the end of the session; it then terminates the
    session (unless -KeepSession) and outputs the final SSMSession.PortForward object (a
    failed session also writes a non-terminating SSMSession.DataChannelFailed error first).
    With -AsJob it returns the running SSMSession.PortForward object at once: use its
    LocalPort, check State and Statistics, and call Stop() when done. Forwards still running
    when the module is removed or pwsh exits are stopped.

    A lost connection is resumed with ResumeSession without losing data. Credentials and
    region resolve as for Start-SSMSession; for a piped session started in this PowerShell
    session, the ones that started it are reused unless credential, profile, region,
    endpoint or client-config parameters are given.

    .PARAMETER SessionId
    The session to connect to (Start-SSMSession's SessionId).

    .PARAMETER StreamUrl
    The session's data channel URL (Start-SSMSession's StreamUrl).

    .PARAMETER TokenValue
    The session's data channel token (Start-SSMSession's TokenValue).

    .PARAMETER Target
    Starts a session to this target first, e.g. i-0123456789abcdef0.

    .PARAMETER DocumentName
    The document of the session started with -Target: AWS-StartPortForwardingSession or
    AWS-StartPortForwardingSessionToRemoteHost; none (or a shell document) opens a shell.

    .PARAMETER Parameter
    The document parameters of the session started with -Target, e.g.
    @{ portNumber = '5432'; localPortNumber = '15432' }.

    .PARAMETER Reason
    The reason recorded with the session started with -Target.

    .PARAMETER LocalPortNumber
    The local port to listen on instead of the session's localPortNumber; 0 picks a free
    port (see the LocalPort of the output).

    .PARAMETER ChunkSize
    Bytes per data-channel message (default 32768). The session-manager-plugin sends 1024.

    .PARAMETER PaceMicroseconds
    Spaces messages this many microseconds apart on average (default none: as fast as the
    channel allows). The plugin pauses 1000 after each message.

    .PARAMETER TimeoutSec
    Stops forwarding after this many seconds (foreground only).

    .PARAMETER KeepAliveSec
    Sends a WebSocket ping this often (default 30, or the SSMSESSION_KEEPALIVE_SECONDS
    environment variable; 0 turns the pings off), so that proxies and NAT devices do not
    drop an idle session; when nothing at all is heard from the service for two intervals
    (plus up to 10 s), the connection is taken for dead and the session resumed.

    .PARAMETER StallTimeoutSec
    Gives the session up when the agent leaves sent data unacknowledged for this many
    seconds (default 300, as the plugin). Meanwhile at most a few MB are buffered: local
    applications wait instead of filling memory. The forward then fails with
    SSMSession.DataChannelFailed (in the foreground, a non-terminating error).

    .PARAMETER AsJob
    Returns the running forward at once instead of running in the foreground.

    .PARAMETER KeepSession
    Leaves the session open on the service when forwarding stops, instead of terminating
    it (it can be resumed until the service's idle timeout).

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
    The region of the session, as a system name such as eu-west-3.

    .PARAMETER EndpointUrl
    The SSM endpoint for StartSession, ResumeSession and TerminateSession (e.g. the local
    emulator, http://127.0.0.1:<port>).

    .PARAMETER ClientConfig
    Client settings as for Start-SSMSession -ClientConfig.

    .EXAMPLE
    Start-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = '5432'; localPortNumber = '15432' } -Region eu-west-3 | Connect-SSMSession

    Forwards 127.0.0.1:15432 to port 5432 on the instance until Ctrl+C.

    .EXAMPLE
    $tunnel = Connect-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSessionToRemoteHost -Parameter @{ host = 'db.internal'; portNumber = '5432' } -LocalPortNumber 0 -AsJob
    psql -h 127.0.0.1 -p $tunnel.LocalPort -U app
    $tunnel.Stop()

    Opens a tunnel on a free local port in the background, uses it, and closes it.

    .EXAMPLE
    $emulator = Start-SSMSessionEmulator; $p = $emulator.Parameters
    $session = Start-SSMSession -Target i-0123 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = ([uri]$emulator.Url).Port } @p
    $tunnel = $session | Connect-SSMSession -LocalPortNumber 0 -AsJob @p
    (Invoke-WebRequest "http://127.0.0.1:$($tunnel.LocalPort)/" -SkipHttpErrorCheck -NoProxy).StatusCode   # 405
    $tunnel.Statistics; $tunnel.Stop(); $emulator.Stop()

    Forwards a free local port through the local emulator's fake agent to the emulator's
    own port (its SSM API answers a GET with 405), shows the byte counts, and stops.

    .INPUTS
    Amazon.SimpleSystemsManagement.Model.StartSessionResponse
    Objects with SessionId, StreamUrl and TokenValue properties.

    .OUTPUTS
    SSMSession.PortForward
    SessionId, LocalAddress, LocalPort, Mode, AgentVersion, State, Message, Statistics; the
    methods Stop() and Wait(seconds).

    .LINK
    Start-SSMSession

    .LINK
    Stop-SSMSession
    #>
    [CmdletBinding(DefaultParameterSetName = 'Session', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('SSMSession.PortForward')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'Session', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $SessionId,

        [Parameter(Mandatory, ParameterSetName = 'Session', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $StreamUrl,

        [Parameter(Mandatory, ParameterSetName = 'Session', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $TokenValue,

        [Parameter(Mandatory, ParameterSetName = 'Target')]
        [ValidateNotNullOrEmpty()]
        [string] $Target,

        [Parameter(ParameterSetName = 'Target')]
        [string] $DocumentName,

        [Parameter(ParameterSetName = 'Target')]
        [Alias('Parameters')]
        [hashtable] $Parameter,

        [Parameter(ParameterSetName = 'Target')]
        [string] $Reason,

        [ValidateRange(0, 65535)]
        [int] $LocalPortNumber,

        [ValidateRange(1, 262144)]
        [int] $ChunkSize,

        [ValidateRange(0, 1000000)]
        [int] $PaceMicroseconds,

        [ValidateRange(1, [int]::MaxValue)]
        [int] $TimeoutSec,

        [ValidateRange(0, 86400)]
        [int] $KeepAliveSec,

        [ValidateRange(1, 86400)]
        [int] $StallTimeoutSec,

        [switch] $AsJob,

        [switch] $KeepSession,

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
        # The plugin's lines go to the information stream, shown unless the caller says not.
        $informationAction = if ($PSBoundParameters.ContainsKey('InformationAction')) { $InformationPreference } else { 'Continue' }
    }

    process {
        $handle = $null
        $startedHere = $null
        $forward = $null
        try {
            if ($PSCmdlet.ParameterSetName -eq 'Target' -and $DocumentName -in '', 'SSM-SessionManagerRunShell', 'AWS-StartInteractiveCommand') {
                $portOnly = @('LocalPortNumber', 'ChunkSize', 'PaceMicroseconds', 'TimeoutSec', 'AsJob') | Where-Object { $PSBoundParameters.ContainsKey($_) }
                if ($portOnly) {
                    throw [System.Management.Automation.ErrorRecord]::new(
                        [System.ArgumentException]::new("-$($portOnly -join ', -') apply to port forwarding; a session without a port forwarding document is a shell (see Enter-SSMSession)."),
                        'SSMSession.PortParameterForShell', [System.Management.Automation.ErrorCategory]::InvalidArgument, $Target)
                }
                $shell = @{}
                foreach ($name in $PSBoundParameters.Keys) { $shell[$name] = $PSBoundParameters[$name] }
                Enter-SSMSession @shell
                return
            }
            $built = ConvertTo-SSMServiceRequest -BoundParameters $PSBoundParameters -Cmdlet $PSCmdlet -ExplicitParameters @($PSBoundParameters.Keys)
            $client = $built.Request.Client
            $ownClient = @($script:SSMClientParameterNames | Where-Object { $PSBoundParameters.ContainsKey($_) }).Count -gt 0
            if ($PSCmdlet.ParameterSetName -eq 'Session' -and -not $ownClient) {
                $remembered = Get-SSMSessionClient -SessionId $SessionId
                if ($null -ne $remembered) { $client = $remembered }
            }
            $resolved = Resolve-SSMClient -Client $client
            if (-not $resolved.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $resolved.Error -TargetObject $(if ($Target) { $Target } else { $SessionId }))
            }

            if ($PSCmdlet.ParameterSetName -eq 'Target') {
                if (-not $PSCmdlet.ShouldProcess($Target, 'Connect-SSMSession (StartSession and forward a local port)')) { return }
                Write-Verbose "Invoking AWS Systems Manager operation 'StartSession' $(Get-SSMDestinationText -Client $client -Region $resolved.Data.Region)"
                $started = Invoke-SSMOperation -Operation StartSession -Request $built.Request
                if (-not $started.Ok) {
                    throw (ConvertTo-SSMErrorRecord -ErrorInfo $started.Error -TargetObject $Target)
                }
                $startedHere = $started.Data.SessionId
                $session = @{ SessionId = $started.Data.SessionId; StreamUrl = $started.Data.StreamUrl; TokenValue = $started.Data.TokenValue }
            } else {
                if (-not $PSCmdlet.ShouldProcess($SessionId, 'Connect-SSMSession (open the data channel and forward a local port)')) { return }
                $session = @{ SessionId = $SessionId; StreamUrl = $StreamUrl; TokenValue = $TokenValue }
            }

            $request = $session + @{ Client = $client; KeepSession = [bool]$KeepSession }
            if ($PSBoundParameters.ContainsKey('LocalPortNumber')) { $request.LocalPortNumber = $LocalPortNumber }
            if ($PSBoundParameters.ContainsKey('ChunkSize')) { $request.ChunkSize = $ChunkSize }
            if ($PSBoundParameters.ContainsKey('PaceMicroseconds')) { $request.PaceMicroseconds = $PaceMicroseconds }
            if ($PSBoundParameters.ContainsKey('StallTimeoutSec')) { $request.StallTimeoutMs = 1000 * $StallTimeoutSec }
            if ($PSBoundParameters.ContainsKey('KeepAliveSec')) { $request.KeepAliveSeconds = $KeepAliveSec }
            Write-Verbose "Opening the data channel of session $($session.SessionId)"
            Register-SSMPortForwardCleanup
            $opened = Invoke-SSMOperation -Operation StartPortForward -Request $request
            if (-not $opened.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $opened.Error -TargetObject $session.SessionId)
            }
            if ($DebugPreference -ne 'SilentlyContinue' -and $DebugPreference -ne 'Ignore' -and $opened.Data.PSObject.Properties['Network']) {
                Write-Debug "Network: data channel to $($opened.Data.Network)"
            }
            $handle = $opened.Data.Handle
            $forward = ConvertTo-SSMPortForward -Data $opened.Data
            if ($opened.Data.CustomerMessage) {
                Write-Information $opened.Data.CustomerMessage -InformationAction $informationAction
            }
            if ($AsJob) {
                $handle = $null
                $forward
                return
            }

            Write-Information "Starting session with SessionId: $($forward.SessionId)" -InformationAction $informationAction
            Write-Information "Port $($forward.LocalPort) opened for sessionId $($forward.SessionId)." -InformationAction $informationAction
            Write-Information 'Waiting for connections...' -InformationAction $informationAction
            $deadline = if ($TimeoutSec) { [datetime]::UtcNow.AddSeconds($TimeoutSec) } else { [datetime]::MaxValue }
            $announced = $false
            $activity = "Forwarding $($forward.LocalAddress):$($forward.LocalPort) for session $($forward.SessionId)"
            while ([datetime]::UtcNow -lt $deadline) {
                $status = Get-SSMPortForwardStatus -Handle $handle -WaitMilliseconds 250
                $statistics = $status.Statistics
                if (-not $announced -and $statistics.ConnectionsTotal -gt 0) {
                    Write-Information "Connection accepted for session [$($forward.SessionId)]" -InformationAction $informationAction
                    $announced = $true
                }
                Write-Progress -Activity $activity -Status ('{0} active, {1} total connections; {2:N0} bytes sent, {3:N0} received' -f
                    $statistics.ConnectionsActive, $statistics.ConnectionsTotal, $statistics.BytesSent, $statistics.BytesReceived)
                if ($status.State -ne 'Running') { break }
            }
        } catch {
            $PSCmdlet.ThrowTerminatingError($_)
        } finally {
            # Reached on Ctrl+C too: end the forward (terminating the session) and release it.
            if ($null -ne $handle) {
                Write-Progress -Activity 'Forwarding' -Completed
                try {
                    $forward.FinalStatus = Get-SSMPortForwardStatus -Handle $handle -Stop
                } catch {
                    $forward.FinalStatus = [pscustomobject]@{ State = 'Failed'; Message = "$_"; Statistics = $null }
                }
                $message = $forward.FinalStatus.Message
                if (-not $message) { $message = "Exiting session with sessionId: $($forward.SessionId)." }
                try {
                    Write-Information "`n$message`n" -InformationAction $informationAction
                    if ($forward.FinalStatus.State -eq 'Failed') {
                        # Not terminating: the forward object still follows, with its statistics.
                        $failure = [pscustomobject]@{ Kind = 'dataChannel'; Code = 'DataChannelFailed'; Message = $message; RequestId = $null; HttpStatus = $null }
                        $PSCmdlet.WriteError((ConvertTo-SSMErrorRecord -ErrorInfo $failure -TargetObject $forward.SessionId))
                    }
                    $forward
                } catch [System.Management.Automation.PipelineStoppedException] {
                    # Ctrl+C: the pipeline takes no more output; the session is ended anyway.
                    $null = $_
                }
            } elseif ($null -ne $startedHere -and $null -eq $forward -and -not $KeepSession) {
                # The session was started here but never forwarded: do not leave it open.
                $null = Invoke-SSMOperation -Operation TerminateSession -Request @{ SessionId = $startedHere; Client = $client }
            }
        }
    }
}
