function Initialize-SSMNativeLogging {
    <#
    .SYNOPSIS
    Turns on the native library's diagnostics when $env:SSMSESSION_LOG names a level.

    .DESCRIPTION
    Off by default. SSMSESSION_LOG = error, warn, info, debug or trace; the events go to
    standard error, or are appended to the file named by SSMSESSION_LOG_FILE. Only the
    library's own events are logged (connections, handshakes, reconnects, ends), never
    keys, tokens or forwarded bytes. Configured once per process, at the first native call.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()
    $level = [System.Environment]::GetEnvironmentVariable('SSMSESSION_LOG')
    if (-not $level) { return }
    $request = @{ Level = $level }
    $path = [System.Environment]::GetEnvironmentVariable('SSMSESSION_LOG_FILE')
    if ($path) { $request.Path = [System.IO.Path]::GetFullPath($path) }
    $envelope = Invoke-SSMOperation -Operation ConfigureLogging -Request $request
    if (-not $envelope.Ok) {
        Write-Warning "SSMSESSION_LOG is ignored: $($envelope.Error.Message)"
    }
}
