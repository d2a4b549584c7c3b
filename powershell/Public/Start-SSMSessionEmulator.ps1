function Start-SSMSessionEmulator {
    <#
    .SYNOPSIS
    Starts the local SSM emulator that ships with SSMSession, for trying the commands
    offline and for tests.

    .DESCRIPTION
    Runs ssm-emulator (runtimes/<rid>/native/ in the module folder) on a loopback port and
    returns an SSMSession.Emulator object: its Url, the key pair and region to sign with,
    and Parameters, a hashtable to splat onto Start-SSMSession, Connect-SSMSession,
    Stop-SSMSession and Resume-SSMSession. The emulator verifies SigV4 signatures, answers
    StartSession, TerminateSession, ResumeSession and DescribeSessions, and its fake agent
    forwards port sessions to ports on 127.0.0.1 (nothing else is dialled).

    Call Stop() on the object to end it. It also ends when this PowerShell process exits
    (it stops when its standard input closes).

    .PARAMETER Port
    The TCP port on 127.0.0.1 (default 0: any free port; see Url).

    .PARAMETER Region
    The region requests must be signed for (default eu-west-3).

    .PARAMETER ArgumentList
    More emulator options, e.g. '--fault-drop', '0.05' or '--document', 'My-Doc' (see
    ssm-emulator --help).

    .PARAMETER ShowRequests
    Log every request on this console's standard error.

    .EXAMPLE
    $emulator = Start-SSMSessionEmulator
    $p = $emulator.Parameters
    Start-SSMSession -Target i-0123456789abcdef0 @p
    $emulator.Stop()

    Starts a session against the local emulator, then stops the emulator.

    .EXAMPLE
    $emulator = Start-SSMSessionEmulator; $p = $emulator.Parameters
    $port = ([uri]$emulator.Url).Port
    $tunnel = Connect-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = "$port" } -LocalPortNumber 0 -AsJob @p
    (Invoke-WebRequest "http://127.0.0.1:$($tunnel.LocalPort)/" -SkipHttpErrorCheck -NoProxy).StatusCode   # 405
    $tunnel.Stop(); $emulator.Stop()

    Forwards a free local port through the emulator's fake agent to a port on this machine
    — here the emulator's own, whose SSM API answers a GET with 405.

    .OUTPUTS
    SSMSession.Emulator
    Url, Region, AccessKey, SecretKey, ProcessId, Parameters; the method Stop().

    .LINK
    Start-SSMSession

    .LINK
    Connect-SSMSession
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType('SSMSession.Emulator')]
    param(
        [ValidateRange(0, 65535)]
        [int] $Port = 0,

        [ValidatePattern('^[a-z]{2}(-[a-z]+)+-\d+$')]
        [string] $Region = 'eu-west-3',

        [string[]] $ArgumentList = @(),

        [switch] $ShowRequests
    )

    $executable = 'ssm-emulator' + $(if ($IsWindows) { '.exe' } else { '' })
    $library = $null
    try {
        $library = Get-SSMNativeLibraryPath -ModuleRoot $script:SSMModuleRoot
    } catch {
        $PSCmdlet.ThrowTerminatingError($_)
    }
    $path = Join-Path ([System.IO.Path]::GetDirectoryName($library)) $executable
    if (-not [System.IO.File]::Exists($path)) {
        $record = [System.Management.Automation.ErrorRecord]::new(
            [System.IO.FileNotFoundException]::new("The emulator was not found at '$path'. Build it from the source tree with 'pwsh ./build.ps1', or install a release of SSMSession that includes it.", $path),
            'SSMSession.EmulatorNotFound', [System.Management.Automation.ErrorCategory]::ObjectNotFound, $path)
        $PSCmdlet.ThrowTerminatingError($record)
    }
    if (-not $PSCmdlet.ShouldProcess("127.0.0.1:$Port", 'Start ssm-emulator')) { return }

    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($path)
    foreach ($argument in @('--port', "$Port", '--region', $Region, '--exit-on-eof') + $ArgumentList) {
        $startInfo.ArgumentList.Add($argument)
    }
    if (-not $ShowRequests) { $startInfo.ArgumentList.Add('--quiet') }
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardInput = $true
    # Quiet, it writes only failures to stderr: kept for the error message (drained by a
    # task, so a chatty failure cannot block it). With -ShowRequests the log goes to the console.
    $startInfo.RedirectStandardError = -not $ShowRequests
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $errorText = if ($startInfo.RedirectStandardError) { $process.StandardError.ReadToEndAsync() } else { $null }
    # The emulator prints its URL as the first line once it listens.
    $firstLine = $process.StandardOutput.ReadLineAsync()
    if (-not $firstLine.Wait([TimeSpan]::FromSeconds(15)) -or -not $firstLine.Result) {
        if (-not $process.HasExited) { $process.Kill() }
        $process.WaitForExit(5000) | Out-Null
        $detail = if ($process.HasExited) { "it exited with code $($process.ExitCode)" } else { 'it did not answer in 15 s' }
        if ($null -ne $errorText -and $errorText.Wait(2000) -and $errorText.Result.Trim()) {
            $detail += ': ' + ($errorText.Result.Trim() -split '\r?\n')[0]
        }
        $record = [System.Management.Automation.ErrorRecord]::new(
            [System.InvalidOperationException]::new("ssm-emulator did not start: $detail"),
            'SSMSession.EmulatorFailed', [System.Management.Automation.ErrorCategory]::OpenError, $path)
        $PSCmdlet.ThrowTerminatingError($record)
    }
    $url = $firstLine.Result.Trim()
    # The emulator's embedded default key pair (ssm-emulator --help).
    $accessKey = 'AKIDSSMEMULATOR'
    $secretKey = 'ssm-emulator-secret-key'
    $emulator = [pscustomobject]@{
        PSTypeName = 'SSMSession.Emulator'
        Url        = $url
        Region     = $Region
        AccessKey  = $accessKey
        SecretKey  = $secretKey
        ProcessId  = $process.Id
        Parameters = @{ EndpointUrl = $url; Region = $Region; AccessKey = $accessKey; SecretKey = $secretKey }
    }
    $emulator.PSObject.Properties.Add([psnoteproperty]::new('Process', $process))
    $emulator.PSObject.Methods.Add([psscriptmethod]::new('Stop', {
                $running = $this.Process
                if ($running.HasExited) { return }
                # Closing its input is the emulator's signal to stop.
                $running.StandardInput.Close()
                if (-not $running.WaitForExit(5000)) { $running.Kill() }
            }))
    $emulator
}
