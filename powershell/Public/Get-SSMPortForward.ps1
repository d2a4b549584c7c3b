function Get-SSMPortForward {
    <#
    .SYNOPSIS
    Lists the port forwards Connect-SSMSession runs in this PowerShell process.

    .DESCRIPTION
    Returns one SSMSession.PortForward object per forward that is running or has ended
    without being stopped yet: the same objects Connect-SSMSession -AsJob returns, with live
    State, Message and Statistics and the methods Stop() and Wait(seconds). Use it to find a
    forward whose object was lost, or to stop them all. Calls no AWS API.

    .PARAMETER SessionId
    Only the forwards of these sessions (wildcards allowed).

    .EXAMPLE
    Get-SSMPortForward

    Lists the running forwards with their local ports, states and byte counts.

    .EXAMPLE
    Get-SSMPortForward | ForEach-Object { $_.Stop() }

    Stops every forward (and terminates their sessions unless they were started with
    -KeepSession).

    .EXAMPLE
    $emulator = Start-SSMSessionEmulator; $p = $emulator.Parameters
    $null = Connect-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = ([uri]$emulator.Url).Port } -LocalPortNumber 0 -AsJob @p
    Get-SSMPortForward | Format-Table SessionId, LocalPort, State
    Get-SSMPortForward | ForEach-Object { $_.Stop() }; $emulator.Stop()

    Lists a forward running through the local emulator, then stops every forward.

    .INPUTS
    System.String
    Session ids, from the pipeline by value or by property name.

    .OUTPUTS
    SSMSession.PortForward
    #>
    [CmdletBinding()]
    [OutputType('SSMSession.PortForward')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [SupportsWildcards()]
        [string[]] $SessionId
    )

    process {
        # Nothing can be running before the native library was loaded by a forward.
        if ($null -eq $script:SSMNativeType) { return }
        $envelope = Invoke-SSMOperation -Operation ListPortForwards -Request @{}
        if (-not $envelope.Ok) {
            $PSCmdlet.ThrowTerminatingError((ConvertTo-SSMErrorRecord -ErrorInfo $envelope.Error))
        }
        foreach ($forward in @($envelope.Data)) {
            if ($SessionId -and -not @($SessionId | Where-Object { $forward.SessionId -like $_ }).Count) { continue }
            ConvertTo-SSMPortForward -Data ([pscustomobject]@{
                    SessionId = $forward.SessionId; LocalAddress = $forward.LocalAddress; LocalPort = $forward.LocalPort
                    Mode = $forward.Mode; AgentVersion = $forward.AgentVersion; Handle = $forward.Handle
                })
        }
    }
}
