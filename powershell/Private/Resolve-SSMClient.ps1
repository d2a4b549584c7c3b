function Resolve-SSMClient {
    <#
    .SYNOPSIS
    Resolves credentials and region for native client settings.

    .DESCRIPTION
    The native library builds and caches one client per distinct settings (the snapshot of
    the environment included); a cached client answers ResolveClient from memory. Writes the
    client's warnings and, with -Debug, its network route. Returns the ResolveClient
    envelope.

    .PARAMETER Client
    The native client settings.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $Client
    )
    # Asked each time: the native library keeps one client per distinct settings and answers
    # from it (no service call), so a cache here would only hold the secrets a second time.
    $envelope = Invoke-SSMOperation -Operation ResolveClient -Request @{ Client = $Client }
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
