# Runs the AWS CLI with the drop-in session-manager-plugin, for tests and the benchmark.
# Loopback only: the endpoint is the caller's emulator; HOME is a folder of the caller's.
Set-StrictMode -Version 3.0

function Invoke-SSMTestAwsCliCommand {
    <#
    .SYNOPSIS
    Runs one command on a target through `aws ssm start-session` (AWS-StartNonInteractiveCommand) with the drop-in plugin.

    .DESCRIPTION
    Starts the AWS CLI with the plugin's folder first on PATH, HOME set to the given folder
    (so no user configuration is read), the keys, instance metadata disabled and loopback
    direct, plus any extra environment (a proxy, a CA bundle). Waits for it with a deadline
    and returns its exit code, output, errors and wall time. Throws when the CLI is missing
    or does not finish in time.

    .PARAMETER Command
    The command the agent runs.

    .PARAMETER Target
    The managed node.

    .PARAMETER EndpointUrl
    The emulator.

    .PARAMETER Region
    The region to sign for.

    .PARAMETER PluginFolder
    The folder holding the drop-in session-manager-plugin.

    .PARAMETER HomeFolder
    HOME for the CLI and the plugin.

    .PARAMETER AccessKey
    Access key the emulator accepts.

    .PARAMETER SecretKey
    Its secret key.

    .PARAMETER Environment
    More environment variables (name to value).

    .PARAMETER TimeoutSeconds
    How long the CLI may take.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)] [string] $Command,
        [Parameter(Mandatory)] [string] $Target,
        [Parameter(Mandatory)] [string] $EndpointUrl,
        [Parameter(Mandatory)] [string] $Region,
        [Parameter(Mandatory)] [string] $PluginFolder,
        [Parameter(Mandatory)] [string] $HomeFolder,
        [Parameter(Mandatory)] [string] $AccessKey,
        [Parameter(Mandatory)] [string] $SecretKey,
        [hashtable] $Environment = @{},
        [ValidateRange(1, 600)] [int] $TimeoutSeconds = 60
    )

    $aws = Get-Command aws -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $aws) { throw 'The AWS CLI (aws) was not found on PATH.' }
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($aws.Source)
    foreach ($argument in 'ssm', 'start-session', '--target', $Target, '--document-name', 'AWS-StartNonInteractiveCommand',
        '--parameters', "command=[""$Command""]", '--endpoint-url', $EndpointUrl, '--region', $Region) {
        $startInfo.ArgumentList.Add($argument)
    }
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.RedirectStandardInput = $true
    # The CLI and the plugin it starts read the process environment.
    $startInfo.Environment['PATH'] = $PluginFolder + [System.IO.Path]::PathSeparator + $env:PATH
    $startInfo.Environment['HOME'] = $HomeFolder
    $startInfo.Environment['AWS_ACCESS_KEY_ID'] = $AccessKey
    $startInfo.Environment['AWS_SECRET_ACCESS_KEY'] = $SecretKey
    $startInfo.Environment['AWS_EC2_METADATA_DISABLED'] = 'true'
    $startInfo.Environment['NO_PROXY'] = '127.0.0.1,localhost'
    foreach ($entry in $Environment.GetEnumerator()) { $startInfo.Environment[$entry.Key] = [string]$entry.Value }
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $process = [System.Diagnostics.Process]::Start($startInfo)
    try {
        $process.StandardInput.Close()
        $output = $process.StandardOutput.ReadToEndAsync()
        $errors = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill($true)
            throw "The AWS CLI did not finish within $TimeoutSeconds s."
        }
        $process.WaitForExit()
        [pscustomobject]@{
            ExitCode     = $process.ExitCode
            Output       = $output.Result
            Errors       = $errors.Result
            Milliseconds = $watch.Elapsed.TotalMilliseconds
        }
    } finally {
        $process.Dispose()
    }
}

Export-ModuleMember -Function Invoke-SSMTestAwsCliCommand
