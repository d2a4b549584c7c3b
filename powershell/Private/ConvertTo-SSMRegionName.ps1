function ConvertTo-SSMRegionName {
    <#
    .SYNOPSIS
    Turns a -Region argument into a region system name, as AWS Tools accepts it.

    .DESCRIPTION
    Accepts a string (e.g. 'eu-west-3'), or an object that carries the system name: an
    AWS Tools AWSRegion (.Region) or a .NET SDK RegionEndpoint (.SystemName). Anything else
    is an ArgumentException with the AWS Tools message.

    .PARAMETER Region
    The value bound to -Region.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [AllowNull()]
        [object] $Region
    )

    # -is sees through the PSObject wrapper a string may arrive in.
    if ($Region -is [string]) {
        return [string]$Region
    }
    if ($null -ne $Region) {
        foreach ($property in 'SystemName', 'Region') {
            $member = $Region.PSObject.Properties[$property]
            if ($member -and $member.Value -is [string]) {
                return $member.Value
            }
        }
    }
    throw [System.ArgumentException]::new(
        'Unsupported parameter type; Region must be a string containing the system name for a region, or an AWSRegion instance',
        'Region')
}
