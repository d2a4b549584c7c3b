function Get-SSMSessionClient {
    <#
    .SYNOPSIS
    The client settings Start-SSMSession used for a session in this PowerShell session, or
    $null (Invoke-SSMApiCommand keeps them when a session starts).

    .PARAMETER SessionId
    The session.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param(
        [AllowNull()]
        [AllowEmptyString()]
        [string] $SessionId
    )
    if ($SessionId -and $null -ne $script:SSMSessionClients -and $script:SSMSessionClients.Contains($SessionId)) {
        $script:SSMSessionClients[$SessionId]
    }
}
