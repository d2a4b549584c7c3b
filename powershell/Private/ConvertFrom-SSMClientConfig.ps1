function ConvertFrom-SSMClientConfig {
    <#
    .SYNOPSIS
    Maps an AWS Tools -ClientConfig value to the native client settings.

    .DESCRIPTION
    Accepts a hashtable or object using the AmazonSimpleSystemsManagementConfig names:
    ServiceURL, RegionEndpoint, AuthenticationRegion, Timeout, ReadWriteTimeout,
    MaxErrorRetry, RetryMode, UseFIPSEndpoint, UseDualstackEndpoint, UserAgent, and the
    proxy settings ProxyHost, ProxyPort, ProxyCredentials (a PSCredential or a
    NetworkCredential), ProxyBypassList (regular expressions, as .NET's WebProxy reads them)
    and ProxyBypassOnLocal. A ProxyHost replaces the environment's HTTPS_PROXY, HTTP_PROXY,
    ALL_PROXY and NO_PROXY for every connection of the call. Timeouts take a TimeSpan or a
    number of seconds. In a hashtable or custom object an unknown name is an error listing
    the supported ones; a real SDK config object carries many other properties, which are
    ignored (as are its ProxyPort 0 and empty bypass list when no ProxyHost is set).

    .PARAMETER ClientConfig
    The value bound to -ClientConfig.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [object] $ClientConfig
    )

    $supported = 'ServiceURL', 'RegionEndpoint', 'AuthenticationRegion', 'Timeout', 'ReadWriteTimeout',
    'MaxErrorRetry', 'RetryMode', 'UseFIPSEndpoint', 'UseDualstackEndpoint', 'UserAgent',
    'ProxyHost', 'ProxyPort', 'ProxyCredentials', 'ProxyBypassList', 'ProxyBypassOnLocal'
    $userAuthored = $ClientConfig -is [System.Collections.IDictionary] -or $ClientConfig -is [System.Management.Automation.PSCustomObject]
    $entries = [ordered]@{}
    if ($ClientConfig -is [System.Collections.IDictionary]) {
        foreach ($key in $ClientConfig.Keys) { $entries[[string]$key] = $ClientConfig[$key] }
    } else {
        foreach ($property in $ClientConfig.PSObject.Properties) {
            if ($userAuthored -or $property.Name -in $supported) {
                $entries[$property.Name] = $property.Value
            }
        }
    }

    $argumentError = { param([string] $Message) throw [System.ArgumentException]::new($Message, 'ClientConfig') }
    $milliseconds = {
        param([string] $Name, [object] $Value)
        if ($Value -is [timespan]) { return [long]$Value.TotalMilliseconds }
        $seconds = 0.0
        if ([double]::TryParse([string]$Value, [System.Globalization.NumberStyles]::Float, [System.Globalization.CultureInfo]::InvariantCulture, [ref]$seconds) -and $seconds -gt 0) {
            return [long]($seconds * 1000)
        }
        & $argumentError "ClientConfig.$Name must be a TimeSpan or a positive number of seconds, not '$Value'."
    }

    $settings = @{}
    foreach ($name in $entries.Keys) {
        $value = $entries[$name]
        if ($null -eq $value -or ($value -is [string] -and $value -eq '')) { continue }
        switch ($name) {
            'ServiceURL' { $settings.EndpointUrl = [string]$value }
            'RegionEndpoint' { $settings.FallbackRegion = ConvertTo-SSMRegionName -Region $value }
            'AuthenticationRegion' { $settings.SigningRegion = [string]$value }
            'Timeout' { $settings.AttemptTimeoutMs = & $milliseconds $name $value }
            'ReadWriteTimeout' { $settings.ReadTimeoutMs = & $milliseconds $name $value }
            'MaxErrorRetry' {
                $retries = 0
                if (-not [int]::TryParse([string]$value, [ref]$retries) -or $retries -lt 0) {
                    & $argumentError "ClientConfig.MaxErrorRetry must be a whole number of retries (0 or more), not '$value'."
                }
                $settings.MaxAttempts = $retries + 1
            }
            'RetryMode' { $settings.RetryMode = [string]$value }
            'UseFIPSEndpoint' { $settings.UseFips = [bool]$value }
            'UseDualstackEndpoint' { $settings.UseDualStack = [bool]$value }
            'UserAgent' { $settings.AppName = [string]$value }
            'ProxyHost' { $settings.ProxyHost = [string]$value }
            'ProxyPort' {
                $port = 0
                if (-not [int]::TryParse([string]$value, [ref]$port) -or $port -gt 65535) {
                    & $argumentError "ClientConfig.ProxyPort must be a port number from 1 to 65535, not '$value'."
                }
                # 0 and -1 are the AWS SDK's "not set".
                if ($port -gt 0) { $settings.ProxyPort = $port }
            }
            'ProxyCredentials' {
                $credential = if ($value -is [pscredential]) {
                    $value.GetNetworkCredential()
                } elseif ($value -is [System.Net.NetworkCredential]) {
                    $value
                } else {
                    & $argumentError "ClientConfig.ProxyCredentials must be a PSCredential or a System.Net.NetworkCredential, not $($value.GetType().FullName)."
                }
                $user = if ($credential.Domain) { "$($credential.Domain)\$($credential.UserName)" } else { $credential.UserName }
                if ($user) {
                    $settings.ProxyUser = $user
                    $settings.ProxyPassword = $credential.Password
                }
            }
            'ProxyBypassList' {
                $list = @(foreach ($entry in @($value)) { if ("$entry") { [string]$entry } })
                if ($list.Count) { $settings.ProxyBypassList = $list }
            }
            'ProxyBypassOnLocal' { if ([bool]$value) { $settings.ProxyBypassOnLocal = $true } }
            default {
                & $argumentError "ClientConfig has no setting '$name'. Supported: $($supported -join ', ')."
            }
        }
    }
    $settings
}
