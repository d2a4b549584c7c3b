function Get-SSMEnvironmentSnapshot {
    <#
    .SYNOPSIS
    The environment variables that credential, region and endpoint resolution read.

    .DESCRIPTION
    On Linux and macOS, .NET keeps $env: changes in a managed copy that native code cannot
    see, so `$env:AWS_PROFILE = 'x'` would be ignored by the native core. The module sends
    every AWS_* variable plus the variables that locate the home folder (for ~/.aws) with
    each call, and the core resolves against this snapshot only.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param()

    $snapshot = @{}
    $variables = [System.Environment]::GetEnvironmentVariables()
    foreach ($name in $variables.Keys) {
        if ($name.StartsWith('AWS_', [System.StringComparison]::OrdinalIgnoreCase) -or
            $name -in 'HOME', 'USERPROFILE', 'HOMEDRIVE', 'HOMEPATH') {
            $snapshot[$name] = $variables[$name]
        }
    }
    $snapshot
}
