function Save-SSMSessionClient {
    <#
    .SYNOPSIS
    Remembers the client settings a session was started with in this PowerShell session.

    .DESCRIPTION
    Connect-SSMSession reuses them for a piped session when no credential, region or
    endpoint parameters are given, so that "Start-SSMSession ... | Connect-SSMSession"
    signs, resumes and terminates with what started the session. Kept in module memory
    only (like $StoredAWSCredentials), never written anywhere, at most 256 sessions.

    .PARAMETER SessionId
    The started session.

    .PARAMETER Client
    The native client settings of the StartSession request.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([void])]
    param(
        [AllowNull()]
        [AllowEmptyString()]
        [string] $SessionId,

        [System.Collections.IDictionary] $Client
    )
    if (-not $SessionId) { return }
    $clients = $script:SSMSessionClients
    if ($null -eq $clients) {
        $clients = [System.Collections.Specialized.OrderedDictionary]::new()
        $script:SSMSessionClients = $clients
    }
    if (-not $clients.Contains($SessionId) -and $clients.Count -ge 256) {
        $clients.RemoveAt(0)
    }
    $clients[$SessionId] = $Client
}
