function New-SSMControlCharacterException {
    <#
    .SYNOPSIS
    The ArgumentException for a client setting that holds a control character.

    .DESCRIPTION
    Names where the value came from (the parameter, -Credential, $StoredAWSCredentials,
    $StoredAWSRegion or -ClientConfig), the character and its position, never the value.
    Kept apart from ConvertTo-SSMServiceRequest so that only a failing call compiles it.

    .PARAMETER Name
    The client setting (AccessKey, SecretKey, SessionToken, Region, ProfileName or EndpointUrl).

    .PARAMETER Value
    Its value.

    .PARAMETER BoundParameters
    The public command's $PSBoundParameters.

    .PARAMETER CredentialOrigin
    Where the credentials came from.

    .PARAMETER RegionOrigin
    Where the region came from.
    #>
    [CmdletBinding()]
    [OutputType([System.ArgumentException])]
    param(
        [Parameter(Mandatory)]
        [string] $Name,

        [Parameter(Mandatory)]
        [string] $Value,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $BoundParameters,

        [AllowNull()]
        [AllowEmptyString()]
        [string] $CredentialOrigin,

        [AllowNull()]
        [AllowEmptyString()]
        [string] $RegionOrigin
    )

    $source = if ($BoundParameters.ContainsKey($Name)) { "-$Name" }
    elseif ($CredentialOrigin -eq 'supplied credentials object') { "-Credential ($Name)" }
    elseif ($CredentialOrigin -eq 'shell variable $StoredAWSCredentials') { "`$StoredAWSCredentials ($Name)" }
    elseif ($RegionOrigin -eq 'shell variable $StoredAWSRegion' -and $Name -eq 'Region') { '$StoredAWSRegion' }
    else { "-ClientConfig ($Name)" }
    $at = [regex]::Match($Value, '[\x00-\x1F\x7F]')
    [System.ArgumentException]::new(
        ("{0} contains a control character (U+{1:X4} at position {2}); AWS keys, tokens, regions and names never do. Check for a line break or tab copied with it." -f $source, [int][char]$at.Value, ($at.Index + 1)),
        ($source.TrimStart('-', '$') -replace ' .*$'))
}
