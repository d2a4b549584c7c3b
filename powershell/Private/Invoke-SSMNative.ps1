function Invoke-SSMNative {
    <#
    .SYNOPSIS
    Calls one JSON export of the native library and returns its envelope.

    .DESCRIPTION
    The single place where PowerShell crosses into native code (unit tests mock
    Invoke-SSMOperation, above it). The request is serialised to JSON and passed as
    NUL-terminated UTF-8; the returned envelope ({ Ok, Data }, { Ok, Error } or
    { Ok, Pending, Data }) is copied as
    UTF-8, released with the library's ssm_string_free in all cases, and read with
    ConvertFrom-Json. (Reading it with System.Text.Json's JsonDocument was measured: ~35 ms
    less on a process's first call, ~0.15 ms more on every later one; kept the simpler.)

    .PARAMETER Operation
    Name of the export: ssm_call_start, ssm_call_wait or ssm_call_cancel (the module runs
    every operation through them, so that each is cancellable).

    .PARAMETER Request
    The request; serialised with ConvertTo-SSMJson.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([pscustomobject])]
    param(
        [ValidateSet('ssm_call_start', 'ssm_call_wait', 'ssm_call_cancel')]
        [string] $Operation,

        [System.Collections.IDictionary] $Request
    )

    $native = $script:SSMNativeType
    if (-not $native) {
        $native = Initialize-SSMNativeLibrary
    }
    $json = ConvertTo-SSMJson -InputObject $Request
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($json + [char]0)
    $result = [IntPtr]::Zero
    try {
        $result = $native::$Operation($bytes)
        $text = [System.Runtime.InteropServices.Marshal]::PtrToStringUTF8($result)
    } finally {
        if ($result -ne [IntPtr]::Zero) {
            $native::ssm_string_free($result)
        }
    }
    ConvertFrom-Json -InputObject $text
}
