function Invoke-SSMSessionCommand {
    <#
    .SYNOPSIS
    Runs a command on a managed node through a Session Manager session and returns its
    output, with standard error apart and the remote exit code in $LASTEXITCODE.

    .DESCRIPTION
    Starts a NonInteractiveCommands session (AWS-StartNonInteractiveCommand unless
    -DocumentName names another) with the command, opens its data channel in-process (no
    session-manager-plugin) and writes what the command prints: standard output to the
    success stream as lines of text (or as it arrives, with -Raw), standard error to the
    error stream (non-terminating SSMSession.RemoteStandardError records, one per line).
    When the command ends, its exit code is set in $LASTEXITCODE; -PassThru also outputs an
    SSMSession.CommandResult with SessionId, Target, ExitCode and State.

    The SSM agent runs such a command without a shell: it splits the text into words and
    runs the first one. So -Command is run by sh on the node (sh -c, Linux and macOS nodes),
    under a small wrapper that reports the exit code and, when the command is stopped, ends
    everything it started (Ctrl+C and -TimeoutSec send it SIGTERM; the session's end kills
    it). -NoShell sends the text as it is instead (Windows nodes, where the agent passes the
    words to powershell.exe).

    What comes back depends on the document. With AWS-StartNonInteractiveCommand the agent
    holds all output until the command has ended and mixes standard error into standard
    output; the exit code comes from the wrapper. With a document whose properties set
    separateOutputStream (New-SSMSessionCommandDocument creates one), output streams as the
    command writes it, standard error stays apart, and the agent reports the exit code.
    When no exit code can be known (-NoShell with a document without separate output, a
    stop), $LASTEXITCODE is set to $null and a warning says why.

    Everything the agent sends reaches the pipeline, however slowly it is consumed: while
    the pipeline is busy, the session stops reading and the agent waits (memory stays
    bounded). A line longer than 1,048,576 characters is written in pieces of that length,
    with one warning per stream.

    Ctrl+C, -TimeoutSec and the end of the pipeline stop the command: it gets Ctrl+C, then
    its session is terminated through the TerminateSession API (the agent ignores the
    in-session terminate request for commands). Output that had arrived but was not yet written is then reported by an
    SSMSession.OutputCut error (with -TimeoutSec) saying how many bytes were cut.
    Credentials, region and endpoint resolve as for Start-SSMSession.

    When the account's Session Manager preferences require KMS encryption, the session is
    encrypted: a data key comes from KMS GenerateDataKey with the same credentials and
    region (endpoint: AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, or the SSM endpoint when that
    is a loopback address such as the local emulator), and every message of the command's
    output is AES-256-GCM encrypted; -Verbose shows "This session is encrypted using AWS
    KMS.".

    .PARAMETER Target
    The managed node to run the command on, e.g. i-0123456789abcdef0 (from the pipeline
    too, as strings or objects with a Target or InstanceId property).

    .PARAMETER Command
    The shell text to run (with sh -c on the node), e.g. 'df -h /; test -w /var/log'.

    .PARAMETER DocumentName
    The NonInteractiveCommands session document to start (default
    AWS-StartNonInteractiveCommand); its parameter `command` receives the command. A
    document with separateOutputStream keeps standard error apart and streams output.

    .PARAMETER NoShell
    Sends -Command to the agent as it is: the agent splits it into words (shell-style
    quotes, no expansion, no ; or |) and runs the first word; on Windows nodes
    powershell.exe gets the words. No exit code then, unless the document has
    separateOutputStream.

    .PARAMETER Reason
    The reason recorded with the session.

    .PARAMETER Raw
    Writes standard output as the text arrives instead of as whole lines.

    .PARAMETER PassThru
    Also outputs an SSMSession.CommandResult object at the end.

    .PARAMETER TimeoutSec
    Stops the command after this many seconds: it gets Ctrl+C, and when it ends within a
    second, what it wrote and its exit code are still returned; otherwise its session is
    terminated (which kills it) and $LASTEXITCODE is $null. Output that had arrived and
    was not yet written is then reported as cut.

    .PARAMETER KeepAliveSec
    Sends a WebSocket ping this often (default 30, or the SSMSESSION_KEEPALIVE_SECONDS
    environment variable; 0 turns the pings off), so that proxies and NAT devices do not
    drop an idle session; when nothing at all is heard from the service for two intervals
    (plus up to 10 s), the connection is taken for dead and the session resumed.

    .PARAMETER StallTimeoutSec
    Gives the session up when the agent leaves data unacknowledged this long (default 300).

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
    Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'systemctl is-active nginx' -Region eu-west-3
    if ($LASTEXITCODE -ne 0) { 'nginx is down' }

    Runs a check on the node and branches on its exit code.

    .EXAMPLE
    'i-0123456789abcdef0', 'i-0fedcba9876543210' | Invoke-SSMSessionCommand -Command 'uptime' -PassThru -ErrorAction Continue

    Runs the same command on two nodes; each result object carries its node and exit code.

    .EXAMPLE
    $e = Start-SSMSessionEmulator; $p = $e.Parameters
    Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'echo out; echo err >&2; exit 3' @p
    $LASTEXITCODE   # 3

    Through the local emulator, whose agent runs the command on this machine as AWS's
    agent would.

    .EXAMPLE
    New-SSMSessionCommandDocument -Name Run-SeparateOutput -Region eu-west-3
    Invoke-SSMSessionCommand i-0123456789abcdef0 'apt-get -s upgrade' -DocumentName Run-SeparateOutput -Region eu-west-3

    Creates (once) a document whose agent keeps standard error apart and streams output,
    then runs a command with it.

    .EXAMPLE
    Invoke-SSMSessionCommand -Target i-0a1b2c3d4e5f60718 -Command 'Get-Service W32Time' -NoShell -Region eu-west-3

    On a Windows node: the agent hands the words to powershell.exe.

    .INPUTS
    System.String
    Objects with a Target or InstanceId property.

    .OUTPUTS
    System.String
    SSMSession.CommandResult (with -PassThru)

    .LINK
    Start-SSMSession

    .LINK
    Connect-SSMSession
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('System.String', 'SSMSession.CommandResult')]
    [Diagnostics.CodeAnalysis.SuppressMessageAttribute('PSAvoidGlobalVars', '', Justification = 'The remote exit code goes to the caller''s $LASTEXITCODE, as a native command''s does.')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('InstanceId')]
        [ValidateNotNullOrEmpty()]
        [string] $Target,

        [Parameter(Mandatory, Position = 1)]
        [ValidateNotNullOrEmpty()]
        [string] $Command,

        [ValidateNotNullOrEmpty()]
        [string] $DocumentName = 'AWS-StartNonInteractiveCommand',

        [switch] $NoShell,

        [string] $Reason,

        [switch] $Raw,

        [switch] $PassThru,

        [ValidateRange(1, [int]::MaxValue)]
        [int] $TimeoutSec,

        [ValidateRange(0, 86400)]
        [int] $KeepAliveSec,

        [ValidateRange(1, 86400)]
        [int] $StallTimeoutSec,

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
        $requestParameters = @('Target', 'Reason') + $script:SSMClientParameterNames
        $newLine = [regex]::new('\r?\n')
        # A line longer than this many characters is written in pieces of this size (with
        # one warning per stream): output without line breaks cannot fill the session.
        $maxLineLength = 1MB
    }

    process {
        $handle = $null
        $sessionId = $null
        $client = $null
        $exitCode = $null
        $state = 'Failed'
        # Text of an unfinished last line, per stream (bounded by $maxLineLength).
        $pending = @{ Stdout = [System.Text.StringBuilder]::new(); Stderr = [System.Text.StringBuilder]::new() }
        $warnedLongLine = @{ Stdout = $false; Stderr = $false }
        # Writes one line: stdout to the pipeline, stderr as an error record.
        $writeLine = {
            param([string] $Stream, [string] $Line)
            if ($Stream -eq 'Stdout') {
                $Line
            } else {
                $record = [System.Management.Automation.ErrorRecord]::new(
                    [System.Exception]::new($Line), 'SSMSession.RemoteStandardError',
                    [System.Management.Automation.ErrorCategory]::FromStdErr, $Target)
                $PSCmdlet.WriteError($record)
            }
        }
        # Writes complete lines (all of it at the end). Only the unfinished line is kept,
        # and only up to $maxLineLength: each chunk is looked at once.
        $emit = {
            param([string] $Stream, [string] $Text, [bool] $Final)
            if ($Stream -eq 'Stdout' -and $Raw) {
                if ($Text) { $Text }
                return
            }
            $unfinished = $pending[$Stream]
            $lines = $newLine.Split($Text)
            $last = $lines.Count - 1
            for ($i = 0; $i -lt $last; $i++) {
                if ($unfinished.Length -gt 0) {
                    $line = $unfinished.Append($lines[$i]).ToString()
                    $null = $unfinished.Clear()
                } else {
                    $line = $lines[$i]
                }
                & $writeLine $Stream $line
            }
            $null = $unfinished.Append($lines[$last])
            while ($unfinished.Length -ge $maxLineLength) {
                if (-not $warnedLongLine[$Stream]) {
                    $warnedLongLine[$Stream] = $true
                    Write-Warning "A line of $($Stream.ToLowerInvariant()) from $Target is longer than $maxLineLength characters; it is written in pieces of that size."
                }
                & $writeLine $Stream $unfinished.ToString(0, $maxLineLength)
                $null = $unfinished.Remove(0, $maxLineLength)
            }
            if ($Final -and $unfinished.Length -gt 0) {
                & $writeLine $Stream $unfinished.ToString()
                $null = $unfinished.Clear()
            }
        }
        try {
            $bound = @{}
            foreach ($name in $requestParameters) {
                if ($PSBoundParameters.ContainsKey($name)) { $bound[$name] = $PSBoundParameters[$name] }
            }
            $bound.DocumentName = $DocumentName
            $wrapped = if (-not $NoShell) { ConvertTo-SSMShellCommand -Command $Command }
            $bound.Parameter = @{ command = $(if ($wrapped) { $wrapped.CommandLine } else { $Command }) }
            $built = ConvertTo-SSMServiceRequest -BoundParameters $bound -Cmdlet $PSCmdlet -ExplicitParameters @($PSBoundParameters.Keys)
            $client = $built.Request.Client
            $resolved = Resolve-SSMClient -Client $client
            if (-not $resolved.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $resolved.Error -TargetObject $Target)
            }
            if (-not $PSCmdlet.ShouldProcess($Target, "Invoke-SSMSessionCommand (run '$Command')")) { return }

            Write-Verbose "Invoking AWS Systems Manager operation 'StartSession' $(Get-SSMDestinationText -Client $client -Region $resolved.Data.Region)"
            $started = Invoke-SSMOperation -Operation StartSession -Request $built.Request
            if (-not $started.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $started.Error -TargetObject $Target)
            }
            $sessionId = $started.Data.SessionId
            # The target names the session in the KMS encryption context when the agent encrypts.
            $request = @{ SessionId = $sessionId; StreamUrl = $started.Data.StreamUrl; TokenValue = $started.Data.TokenValue; Target = $Target; Client = $client }
            if ($PSBoundParameters.ContainsKey('StallTimeoutSec')) { $request.StallTimeoutMs = 1000 * $StallTimeoutSec }
            if ($PSBoundParameters.ContainsKey('KeepAliveSec')) { $request.KeepAliveSeconds = $KeepAliveSec }
            if ($wrapped) { $request.ExitMarker = $wrapped.Marker }
            Write-Verbose "Opening the data channel of session $sessionId"
            Register-SSMPortForwardCleanup
            $opened = Invoke-SSMOperation -Operation StartCommand -Request $request
            if (-not $opened.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $opened.Error -TargetObject $Target)
            }
            if ($DebugPreference -ne 'SilentlyContinue' -and $DebugPreference -ne 'Ignore' -and $opened.Data.PSObject.Properties['Network']) {
                Write-Debug "Network: data channel to $($opened.Data.Network)"
            }
            $handle = $opened.Data.Handle
            if ($opened.Data.CustomerMessage) { Write-Verbose $opened.Data.CustomerMessage }
            $deadline = if ($TimeoutSec) { [datetime]::UtcNow.AddSeconds($TimeoutSec) } else { [datetime]::MaxValue }
            while ($true) {
                $status = Invoke-SSMOperation -Operation CommandOutput -Request @{ Handle = $handle; WaitMs = 250 }
                if (-not $status.Ok) {
                    throw (ConvertTo-SSMErrorRecord -ErrorInfo $status.Error -TargetObject $Target)
                }
                $data = $status.Data
                $finished = $data.State -ne 'Running' -and -not $data.MoreOutput
                if ($data.Stdout) { & $emit 'Stdout' $data.Stdout $false }
                if ($data.Stderr) { & $emit 'Stderr' $data.Stderr $false }
                if ($null -ne $data.ExitCode) { $exitCode = [int]$data.ExitCode }
                if ($finished) {
                    $state = $data.State
                    if ($data.State -eq 'Failed') {
                        $failure = [pscustomobject]@{ Kind = 'dataChannel'; Code = 'DataChannelFailed'; Message = [string]$data.Message; RequestId = $null; HttpStatus = $null }
                        $PSCmdlet.WriteError((ConvertTo-SSMErrorRecord -ErrorInfo $failure -TargetObject $Target))
                    }
                    break
                }
                if ([datetime]::UtcNow -ge $deadline) {
                    $state = 'TimedOut'
                    Write-Warning "The command on $Target did not finish within $TimeoutSec s; its session $sessionId is terminated."
                    break
                }
            }
        } catch {
            $PSCmdlet.ThrowTerminatingError($_)
        } finally {
            # Reached on Ctrl+C too: end the session and release the handle.
            if ($null -ne $handle) {
                $last = Invoke-SSMOperation -Operation StopCommand -Request @{ Handle = $handle }
                try {
                    if ($last.Ok) {
                        if ($last.Data.Stdout) { & $emit 'Stdout' $last.Data.Stdout $false }
                        if ($last.Data.Stderr) { & $emit 'Stderr' $last.Data.Stderr $false }
                        if ($null -eq $exitCode -and $null -ne $last.Data.ExitCode) { $exitCode = [int]$last.Data.ExitCode }
                    }
                    & $emit 'Stdout' '' $true
                    & $emit 'Stderr' '' $true
                    if ($last.Ok -and $state -eq 'TimedOut' -and $last.Data.State -eq 'Failed') {
                        # The stop itself failed (TerminateSession did not answer): say so.
                        $failure = [pscustomobject]@{ Kind = 'dataChannel'; Code = 'DataChannelFailed'; Message = [string]$last.Data.Message; RequestId = $null; HttpStatus = $null }
                        $PSCmdlet.WriteError((ConvertTo-SSMErrorRecord -ErrorInfo $failure -TargetObject $Target))
                    }
                    if ($last.Ok -and $last.Data.UndeliveredBytes -gt 0) {
                        $bytes = $last.Data.UndeliveredBytes
                        $text = if ($last.Data.UndeliveredCause -eq 'Gap') {
                            "Output was cut: $bytes bytes of output from $Target could not be written, because the channel closed while the messages before them were still missing (the agent skipped sequence numbers)."
                        } else {
                            $why = if ($state -eq 'TimedOut') { "-TimeoutSec ($TimeoutSec s) stopped the command" } else { 'the session ended' }
                            "Output was cut: $bytes bytes of output that had arrived from $Target were not written, because $why before they were read."
                        }
                        $cut = [System.Management.Automation.ErrorRecord]::new(
                            [System.IO.IOException]::new($text), 'SSMSession.OutputCut',
                            [System.Management.Automation.ErrorCategory]::OperationStopped, $Target)
                        $PSCmdlet.WriteError($cut)
                    }
                    if ($null -eq $exitCode -and $state -eq 'Closed') {
                        $why = if ($NoShell) { "the agent reports one only for documents with separateOutputStream, and -NoShell ran the command without the wrapper that reports it" }
                        else { 'the command ended without reporting one (it was killed, or the node has no POSIX sh)' }
                        Write-Warning "No exit code from '$Command' on $Target`: $why. `$LASTEXITCODE is `$null."
                    }
                    # Never a stale code from an earlier command: $null when there is none.
                    $global:LASTEXITCODE = $exitCode
                    if ($PassThru) {
                        [pscustomobject]@{
                            PSTypeName = 'SSMSession.CommandResult'
                            SessionId  = $sessionId
                            Target     = $Target
                            ExitCode   = $exitCode
                            State      = $state
                        }
                    }
                } catch [System.Management.Automation.PipelineStoppedException] {
                    # Ctrl+C: the pipeline takes no more output; the session is ended anyway.
                    $null = $_
                }
            }
        }
    }
}
