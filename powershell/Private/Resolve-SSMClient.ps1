function Resolve-SSMClient {
    <#
    .SYNOPSIS
    Resolves credentials and region for native client settings, once per settings.

    .DESCRIPTION
    The native library builds and caches one client per distinct settings (the snapshot of
    the environment included), and a cached client answers ResolveClient from memory; the
    answer for equal settings cannot change. Keeping the successful answer here saves a
    native round trip on every later call. Failures are not kept. At most 64 entries.
    Returns the ResolveClient envelope.

    .PARAMETER Client
    The native client settings.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $Client
    )
    # ConvertTo-SSMJson's fast path inline: this runs on every call.
    $key = try {
        [System.Text.Json.JsonSerializer]::Serialize($Client, [System.Collections.IDictionary])
    } catch {
        ConvertTo-SSMJson -InputObject $Client
    }
    $cache = $script:SSMResolvedClients
    $envelope = $null
    if (-not $cache.TryGetValue($key, [ref]$envelope)) {
        $envelope = Invoke-SSMOperation -Operation ResolveClient -Request @{ Client = $Client }
        if ($envelope.Ok) {
            if ($cache.Count -ge 64) { $cache.Clear() }
            $cache[$key] = $envelope
        }
    }
    # The client's warnings (an opted-in plain-text endpoint) go with every call made with
    # it, into the calling command's warning stream (its -WarningAction applies).
    if ($envelope.Ok -and $envelope.Data.PSObject.Properties['Warnings']) {
        foreach ($warning in $envelope.Data.Warnings) { Write-Warning $warning }
    }
    # Which proxy (host:port and the setting that named it) and which CA files the API calls
    # use; written only when shown.
    if ($envelope.Ok -and $DebugPreference -ne 'SilentlyContinue' -and $DebugPreference -ne 'Ignore' -and $envelope.Data.PSObject.Properties['Network']) {
        Write-Debug "Network: API calls to $($envelope.Data.Network)"
    }
    $envelope
}
