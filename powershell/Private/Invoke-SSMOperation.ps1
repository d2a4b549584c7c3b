function Invoke-SSMOperation {
    <#
    .SYNOPSIS
    Runs one native operation to completion, cancellably, and returns its envelope
    ({ Ok, Data } or { Ok, Error }).

    .DESCRIPTION
    The single place where PowerShell crosses into native code (unit tests mock this
    function). Starts the operation with ssm_call_start, which itself waits one short slice
    (so a fast call takes one native round trip), then waits in further slices with
    ssm_call_wait. PowerShell cannot interrupt a native call, but between slices a pipeline
    stop (Ctrl+C, Stop-Job, a closed runspace) ends this function; the finally block then
    cancels the native request with ssm_call_cancel, so control returns within about one
    slice.

    Each request is serialised to JSON and passed as NUL-terminated UTF-8; each returned
    envelope ({ Ok, Data }, { Ok, Error } or { Ok, Pending, Data }) is copied as UTF-8,
    released with the library's ssm_string_free in all cases, and read by ConvertFrom-Json's
    own reader, JsonObject.ConvertFromJson, called as a method: the same objects without a
    cmdlet call (measured in a fresh pwsh: ~20 µs instead of ~60-75 µs a call; a process's
    first parse 8 ms instead of 39). (System.Text.Json's JsonDocument was measured too:
    faster on a first call, ~0.15 ms slower on every later one.)

    .PARAMETER Operation
    The native operation (see ssm_call_start in include/ssmsession.h).

    .PARAMETER Request
    The operation's request; serialised as ConvertTo-SSMJson does.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1). The marshalling is
    # inline, not in a helper of its own: a PowerShell call costs ~20 µs on the warm path.
    [OutputType([pscustomobject])]
    param(
        # The library's operations, all of them (a test compares with DescribeContract).
        [ValidateSet('StartSession', 'ResolveClient', 'TerminateSession', 'ResumeSession', 'StartPortForward',
            'PortForwardStatus', 'StopPortForward', 'ListPortForwards', 'StopAllPortForwards', 'StartCommand', 'CommandOutput',
            'StopCommand', 'StopAllCommands', 'RunShell', 'CreateCommandDocument', 'ConfigureLogging', 'DescribeContract')]
        [string] $Operation,

        [System.Collections.IDictionary] $Request
    )

    $native = $script:SSMNativeType
    if (-not $native) {
        $native = Initialize-SSMNativeLibrary
    }
    # Short enough that Ctrl+C feels immediate, long enough that waiting costs nothing.
    $sliceMilliseconds = 100
    $body = @{ Operation = $Operation; Request = $Request; WaitMs = $sliceMilliseconds }
    $callId = $null
    $pending = $false
    try {
        # Bounded by the operation itself: the library ends every call (its own timeouts,
        # retries with budgets), or a pipeline stop ends this loop and cancels it below.
        do {
            # ConvertTo-SSMJson's fast path inline; what System.Text.Json refuses (values
            # wrapped in a PSObject) goes through ConvertTo-SSMJson's fallback.
            $json = try {
                [System.Text.Json.JsonSerializer]::Serialize($body, [System.Collections.IDictionary])
            } catch {
                ConvertTo-SSMJson -InputObject $body
            }
            $bytes = [System.Text.Encoding]::UTF8.GetBytes($json + [char]0)
            $result = [IntPtr]::Zero
            try {
                if ($null -eq $callId) {
                    $result = $native::ssm_call_start($bytes)
                } else {
                    $result = $native::ssm_call_wait($bytes)
                }
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
            $pending = $null -ne $envelope.PSObject.Properties['Pending']
            if ($pending) {
                $callId = [long]$envelope.Data.CallId
                $body = @{ CallId = $callId; TimeoutMs = $sliceMilliseconds }
            }
        } while ($pending)
    } finally {
        if ($pending) {
            # Stopped while the call runs: abandon it. Its envelope says nothing of use.
            $cancelled = $native::ssm_call_cancel([System.Text.Encoding]::UTF8.GetBytes("{`"CallId`":$callId}" + [char]0))
            if ($cancelled -ne [IntPtr]::Zero) {
                $native::ssm_string_free($cancelled)
            }
        }
    }
    $envelope
}
