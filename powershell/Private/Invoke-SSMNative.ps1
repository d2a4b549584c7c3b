function Invoke-SSMNative {
    <#
    .SYNOPSIS
    Calls one JSON export of the native library and returns its envelope.

    .DESCRIPTION
    The single place where PowerShell crosses into native code (unit tests mock
    Invoke-SSMOperation, above it). The request is serialised to JSON and passed as
    NUL-terminated UTF-8; the returned envelope ({ Ok, Data }, { Ok, Error } or
    { Ok, Pending, Data }) is copied as
    UTF-8, released with the library's ssm_string_free in all cases, and read by
    ConvertFrom-Json's own reader, JsonObject.ConvertFromJson, called as a method: the same
    objects without a cmdlet call (measured in a fresh pwsh: ~20 µs instead of ~60-75 µs a
    call; a process's first parse 8 ms instead of 39). (System.Text.Json's JsonDocument was
    measured too: faster on a first call, ~0.15 ms slower on every later one.)

    .PARAMETER Operation
    Name of the export: ssm_call_start, ssm_call_wait or ssm_call_cancel (the module runs
    every operation through them, so that each is cancellable).

    .PARAMETER Request
    The request; serialised as ConvertTo-SSMJson does.
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
    # ConvertTo-SSMJson's fast path inline (a function call fewer on every call); the
    # requests it refuses go through ConvertTo-SSMJson, which falls back to ConvertTo-Json.
    $json = try {
        [System.Text.Json.JsonSerializer]::Serialize($Request, [System.Collections.IDictionary])
    } catch {
        ConvertTo-SSMJson -InputObject $Request
    }
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
    $parseError = $null
    # Named with its assembly: a process that has not used a Microsoft.PowerShell.Utility
    # command yet may not have loaded it, and only an assembly-qualified name loads it.
    $envelope = [Microsoft.PowerShell.Commands.JsonObject, Microsoft.PowerShell.Commands.Utility]::ConvertFromJson($text, [ref]$parseError)
    if ($null -ne $parseError) {
        throw $parseError
    }
    $envelope
}
