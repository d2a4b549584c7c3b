# Starts and stops the ssm-emulator binary for tests and the demo. Loopback only.
Set-StrictMode -Version 3.0

function Start-SSMEmulator {
    <#
    .SYNOPSIS
    Starts ssm-emulator on a free loopback port and returns its process and URL.

    .DESCRIPTION
    The emulator prints its URL as its first stdout line. Its stdin stays open and it runs
    with --exit-on-eof, so it also ends when this process dies without stopping it.

    .PARAMETER Path
    The ssm-emulator executable.

    .PARAMETER ArgumentList
    Extra emulator arguments (e.g. --credential, --document).

    .PARAMETER ShowRequests
    Let the emulator log requests on this console's stderr instead of running quietly.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string] $Path,

        [string[]] $ArgumentList = @(),

        [switch] $ShowRequests
    )

    if (-not $PSCmdlet.ShouldProcess($Path, 'Start ssm-emulator')) {
        return
    }
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        throw "ssm-emulator was not found at '$Path'; build it with 'pwsh ./build.ps1'."
    }
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($Path)
    foreach ($argument in @('--port', '0', '--exit-on-eof') + $ArgumentList) {
        $startInfo.ArgumentList.Add($argument)
    }
    if (-not $ShowRequests) { $startInfo.ArgumentList.Add('--quiet') }
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardInput = $true
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $firstLine = $process.StandardOutput.ReadLineAsync()
    if (-not $firstLine.Wait([TimeSpan]::FromSeconds(15)) -or -not $firstLine.Result) {
        if (-not $process.HasExited) { $process.Kill() }
        throw "ssm-emulator did not report its URL (exit code: $(if ($process.HasExited) { $process.ExitCode } else { 'still running' }))."
    }
    [pscustomobject]@{
        PSTypeName = 'SSMSession.Test.Emulator'
        Process    = $process
        Url        = $firstLine.Result.Trim()
    }
}

function Stop-SSMEmulator {
    <#
    .SYNOPSIS
    Stops an emulator started by Start-SSMEmulator and waits for it to exit.

    .PARAMETER Emulator
    The object Start-SSMEmulator returned.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [AllowNull()]
        [pscustomobject] $Emulator
    )

    process {
        if ($null -eq $Emulator -or $Emulator.Process.HasExited) { return }
        if (-not $PSCmdlet.ShouldProcess($Emulator.Url, 'Stop ssm-emulator')) { return }
        $Emulator.Process.StandardInput.Close()
        if (-not $Emulator.Process.WaitForExit(5000)) {
            $Emulator.Process.Kill()
            $Emulator.Process.WaitForExit()
        }
    }
}

Export-ModuleMember -Function Start-SSMEmulator, Stop-SSMEmulator
