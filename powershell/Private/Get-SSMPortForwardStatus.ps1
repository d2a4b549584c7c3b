function Get-SSMPortForwardStatus {
    <#
    .SYNOPSIS
    The native status of a port forward: State (Running, Closed, Stopped, Failed), Message,
    LocalAddress, LocalPort, Mode and Statistics.

    .DESCRIPTION
    With -WaitMilliseconds, returns as soon as the forward ends or after that long. With
    -Stop, stops the forward first (terminating its session unless it is kept), waits for
    the end and releases the native handle; the result is the final status.

    .PARAMETER Handle
    The native handle from StartPortForward.

    .PARAMETER WaitMilliseconds
    How long to wait for the end, at most (0 = answer at once).

    .PARAMETER Stop
    Stop the forward and release the handle.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [long] $Handle,

        [ValidateRange(0, 60000)]
        [int] $WaitMilliseconds = 0,

        [switch] $Stop
    )
    $envelope = if ($Stop) {
        Invoke-SSMOperation -Operation StopPortForward -Request @{ Handle = $Handle }
    } else {
        Invoke-SSMOperation -Operation PortForwardStatus -Request @{ Handle = $Handle; WaitMs = $WaitMilliseconds }
    }
    if (-not $envelope.Ok) {
        throw (ConvertTo-SSMErrorRecord -ErrorInfo $envelope.Error -TargetObject $Handle)
    }
    $envelope.Data
}
