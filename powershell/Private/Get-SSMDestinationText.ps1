function Get-SSMDestinationText {
    <#
    .SYNOPSIS
    Where a call goes, in the words of AWS Tools' verbose message.

    .PARAMETER Client
    The request's client settings.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [hashtable] $Client
    )

    if ($Client['EndpointUrl']) {
        "on endpoint '$($Client.EndpointUrl)'"
    } elseif ($Client['Region']) {
        "in region '$($Client.Region)'"
    } elseif ($Client.Environment['AWS_REGION']) {
        "in region '$($Client.Environment['AWS_REGION'])'"
    } else {
        'against undetermined endpoint or region.'
    }
}
