function Get-SSMEnvironmentSnapshot {
    <#
    .SYNOPSIS
    The environment variables that credential, region and endpoint resolution read.

    .DESCRIPTION
    On Linux and macOS, .NET keeps $env: changes in a managed copy that native code cannot
    see, so `$env:AWS_PROFILE = 'x'` would be ignored by the native core. The module sends
    every AWS_* variable (AWS_CA_BUNDLE among them), the variables that locate the home
    folder (for ~/.aws), the proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY,
    either case), the extra CA locations (SSL_CERT_FILE, SSL_CERT_DIR) and
    SSMSESSION_ALLOW_HTTP (plain-text endpoints beyond loopback) with each call, and the core
    resolves against this snapshot only.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([hashtable])]
    param()

    $names = $script:SSMEnvironmentNames
    if ($null -eq $names) {
        # Built on first use, not at import; either case of each name (https_proxy too).
        $names = [System.Collections.Generic.HashSet[string]]::new(
            [string[]]('HOME', 'USERPROFILE', 'HOMEDRIVE', 'HOMEPATH', 'HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY',
                'SSL_CERT_FILE', 'SSL_CERT_DIR', 'SSMSESSION_ALLOW_HTTP'),
            [System.StringComparer]::OrdinalIgnoreCase)
        $script:SSMEnvironmentNames = $names
    }
    $snapshot = @{}
    foreach ($entry in [System.Environment]::GetEnvironmentVariables().GetEnumerator()) {
        $name = [string]$entry.Key
        if ($name.StartsWith('AWS_', [System.StringComparison]::OrdinalIgnoreCase) -or $names.Contains($name)) {
            $snapshot[$name] = $entry.Value
        }
    }
    $snapshot
}
