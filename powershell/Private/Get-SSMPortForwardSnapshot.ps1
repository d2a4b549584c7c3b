function Get-SSMPortForwardSnapshot {
    <#
    .SYNOPSIS
    The current status of an SSMSession.PortForward object, or its final status.

    .DESCRIPTION
    A forward stopped through another object for the same forward (e.g. one from
    Get-SSMPortForward) has released its native handle; this object then reports Stopped
    instead of failing.

    .PARAMETER Forward
    The SSMSession.PortForward object.

    .PARAMETER Stop
    Stop the forward first (once) and keep the final status.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [psobject] $Forward,

        [switch] $Stop
    )
    if ($null -ne $Forward.FinalStatus) { return $Forward.FinalStatus }
    try {
        $status = Get-SSMPortForwardStatus -Handle $Forward.Handle -Stop:$Stop
    } catch {
        if ($_.FullyQualifiedErrorId -notlike 'SSMSession.UnknownPortForward*') { throw }
        $status = [pscustomobject]@{ State = 'Stopped'; Message = 'The forward was stopped and released through another object.'; Statistics = $null }
        $Forward.FinalStatus = $status
    }
    if ($Stop) { $Forward.FinalStatus = $status }
    $status
}
