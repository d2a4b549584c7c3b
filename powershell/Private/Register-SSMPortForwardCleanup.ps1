function Register-SSMPortForwardCleanup {
    <#
    .SYNOPSIS
    Makes sure running port forwards end with the module: removing it, or exiting pwsh,
    stops them and terminates their sessions (unless they were started with -KeepSession).

    .DESCRIPTION
    Registered once, with the first forward, so that importing the module costs nothing.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()
    if ($script:SSMCleanupRegistered) { return }
    $module = $ExecutionContext.SessionState.Module
    $stopAll = {
        if ($null -ne $script:SSMNativeType) {
            $null = Invoke-SSMOperation -Operation StopAllPortForwards -Request @{}
        }
    }
    $module.OnRemove = $stopAll
    $null = Register-EngineEvent -SourceIdentifier ([System.Management.Automation.PsEngineEvent]::Exiting) -MessageData $module -Action {
        & $Event.MessageData { $null = Invoke-SSMOperation -Operation StopAllPortForwards -Request @{} }
    }
    $script:SSMCleanupRegistered = $true
}
