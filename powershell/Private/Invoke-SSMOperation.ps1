function Invoke-SSMOperation {
    <#
    .SYNOPSIS
    Runs one native operation to completion, cancellably, and returns its envelope
    ({ Ok, Data } or { Ok, Error }).

    .DESCRIPTION
    Starts the operation with ssm_call_start, which itself waits one short slice (so a
    fast call takes one native round trip), then waits in further slices with
    ssm_call_wait. PowerShell cannot interrupt a native call, but between slices a pipeline
    stop (Ctrl+C, Stop-Job, a closed runspace) ends this function; the finally block then
    cancels the native request, so control returns within about one slice.

    .PARAMETER Operation
    The native operation (see ssm_call_start in include/ssmsession.h).

    .PARAMETER Request
    The operation's request.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([pscustomobject])]
    param(
        # The library's operations, all of them (a test compares with DescribeContract).
        [ValidateSet('StartSession', 'ResolveClient', 'TerminateSession', 'ResumeSession', 'StartPortForward',
            'PortForwardStatus', 'StopPortForward', 'ListPortForwards', 'StopAllPortForwards', 'StartCommand', 'CommandOutput',
            'StopCommand', 'StopAllCommands', 'RunShell', 'CreateCommandDocument', 'ConfigureLogging', 'DescribeContract')]
        [string] $Operation,

        [System.Collections.IDictionary] $Request
    )

    # Short enough that Ctrl+C feels immediate, long enough that waiting costs nothing.
    $sliceMilliseconds = 100
    $envelope = Invoke-SSMNative -Operation ssm_call_start -Request @{ Operation = $Operation; Request = $Request; WaitMs = $sliceMilliseconds }
    if (-not $envelope.PSObject.Properties['Pending']) {
        return $envelope
    }
    $callId = $envelope.Data.CallId
    $finished = $false
    try {
        while ($true) {
            $envelope = Invoke-SSMNative -Operation ssm_call_wait -Request @{ CallId = $callId; TimeoutMs = $sliceMilliseconds }
            if (-not $envelope.PSObject.Properties['Pending']) {
                $finished = $true
                return $envelope
            }
        }
    } finally {
        if (-not $finished) {
            $null = Invoke-SSMNative -Operation ssm_call_cancel -Request @{ CallId = $callId }
        }
    }
}
