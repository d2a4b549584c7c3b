function Register-SSMPortForwardCleanup {
    <#
    .SYNOPSIS
    Makes sure running port forwards and commands end with the module: removing it, or
    exiting pwsh, stops them and terminates their sessions (unless they were started with
    -KeepSession).

    .DESCRIPTION
    Registered once, with the first forward, so that importing the module costs nothing.
    Module removal runs the module's OnRemove. Process exit runs the native library's own
    OnProcessExit (see Initialize-SSMNativeLibrary), added once per process to
    AppDomain.ProcessExit: it needs no runspace, and it runs however pwsh ends (`exit`, the
    end of -Command or -File, a closed terminal), where PowerShell's Exiting event does not.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()
    if ($script:SSMCleanupRegistered) { return }
    $module = $ExecutionContext.SessionState.Module
    $module.OnRemove = {
        if ($null -ne $script:SSMNativeType) {
            $null = Invoke-SSMOperation -Operation StopAllPortForwards -Request @{}
            $null = Invoke-SSMOperation -Operation StopAllCommands -Request @{}
        }
    }
    $native = Initialize-SSMNativeLibrary
    $slot = 'SSMSession.ProcessExitHandler'
    if ($null -eq [System.AppDomain]::CurrentDomain.GetData($slot)) {
        $handler = [System.Delegate]::CreateDelegate([System.EventHandler], $native.GetMethod('OnProcessExit'))
        [System.AppDomain]::CurrentDomain.add_ProcessExit($handler)
        [System.AppDomain]::CurrentDomain.SetData($slot, $handler)
    }
    $script:SSMCleanupRegistered = $true
}
