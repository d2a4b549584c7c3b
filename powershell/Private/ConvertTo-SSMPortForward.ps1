function ConvertTo-SSMPortForward {
    <#
    .SYNOPSIS
    The SSMSession.PortForward object for a native forward (Connect-SSMSession,
    Get-SSMPortForward).

    .DESCRIPTION
    SessionId, LocalAddress, LocalPort, Mode, AgentVersion and Handle are fixed. State
    (Running, Closed, Stopped, Failed), Message and Statistics (connections, bytes,
    reconnects, retransmissions) are read from the native forward on each access. Methods:
    Stop() ends the forward (and terminates the session unless -KeepSession was given) and
    releases it; Wait(seconds) waits for the end and returns whether it came.

    .PARAMETER Data
    The StartPortForward data (SessionId, LocalAddress, LocalPort, Mode, AgentVersion,
    Handle).
    #>
    [CmdletBinding()]
    [OutputType('SSMSession.PortForward')]
    param(
        [Parameter(Mandatory)]
        [pscustomobject] $Data
    )
    $forward = [pscustomobject]@{
        PSTypeName   = 'SSMSession.PortForward'
        SessionId    = [string]$Data.SessionId
        LocalAddress = [string]$Data.LocalAddress
        LocalPort    = [int]$Data.LocalPort
        Mode         = [string]$Data.Mode
        AgentVersion = [string]$Data.AgentVersion
        Handle       = [long]$Data.Handle
    }
    # The final status once the native handle was released; $null while it is live.
    $forward.PSObject.Properties.Add([psnoteproperty]::new('FinalStatus', $null))
    # Literal script blocks: they are bound to this module, so they can call its private
    # functions from wherever the object travels.
    $forward.PSObject.Properties.Add([psscriptproperty]::new('State', { (Get-SSMPortForwardSnapshot -Forward $this).State }))
    $forward.PSObject.Properties.Add([psscriptproperty]::new('Message', { (Get-SSMPortForwardSnapshot -Forward $this).Message }))
    $forward.PSObject.Properties.Add([psscriptproperty]::new('Statistics', { (Get-SSMPortForwardSnapshot -Forward $this).Statistics }))
    $forward.PSObject.Methods.Add([psscriptmethod]::new('Stop', {
                $null = Get-SSMPortForwardSnapshot -Forward $this -Stop
            }))
    $forward.PSObject.Methods.Add([psscriptmethod]::new('Wait', {
                param([int] $TimeoutSeconds = 0)
                if ($null -ne $this.FinalStatus) { return $true }
                $deadline = [datetime]::UtcNow.AddSeconds([math]::Max(0, $TimeoutSeconds))
                do {
                    $remaining = [int][math]::Min(250, [math]::Max(0, ($deadline - [datetime]::UtcNow).TotalMilliseconds))
                    if ($null -ne $this.FinalStatus) { return $true }
                    try {
                        $state = (Get-SSMPortForwardStatus -Handle $this.Handle -WaitMilliseconds $remaining).State
                    } catch {
                        $state = (Get-SSMPortForwardSnapshot -Forward $this).State
                    }
                    if ($state -ne 'Running') { return $true }
                } while ([datetime]::UtcNow -lt $deadline)
                $false
            }))
    $forward
}
