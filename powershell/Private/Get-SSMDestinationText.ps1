function Get-SSMDestinationText {
    <#
    .SYNOPSIS
    Where a call goes, in the words of AWS Tools' verbose message.

    .PARAMETER Client
    The request's client settings.

    .PARAMETER Region
    The resolved region.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [hashtable] $Client,

        [AllowNull()]
        [string] $Region
    )

    if ($Client['EndpointUrl']) {
        "on endpoint '$($Client.EndpointUrl)'"
    } elseif ($Region) {
        "in region '$Region'"
    } else {
        'against undetermined endpoint or region.'
    }
}
