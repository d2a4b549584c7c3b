function Add-SSMCredentialObject {
    <#
    .SYNOPSIS
    Adds the keys of -Credential to a native client's settings, and checks -NetworkCredential.

    .DESCRIPTION
    Part of ConvertTo-SSMServiceRequest that only calls with -Credential or
    -NetworkCredential need (kept apart so that other calls do not compile it). -Credential
    counts only when no earlier source (the key parameters) decided the credentials; an
    object that holds no keys is refused when it was given on the command line and ignored
    when it was bound from the pipeline (-Credential binds any piped object by value, as
    DocumentName binds any piped string). Throws System.ArgumentException for bad values.

    Returns where the credentials come from: the given origin, 'supplied credentials
    object', or $null when still undecided.

    .PARAMETER Client
    The client settings being built.

    .PARAMETER BoundParameters
    The public command's $PSBoundParameters.

    .PARAMETER ExplicitParameters
    Names of the parameters given on the command line rather than from the pipeline.

    .PARAMETER CredentialOrigin
    Where the credentials come from so far ($null when undecided).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [hashtable] $Client,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $BoundParameters,

        [AllowEmptyCollection()]
        [string[]] $ExplicitParameters = @(),

        [AllowNull()]
        [AllowEmptyString()]
        [string] $CredentialOrigin
    )

    $credential = $BoundParameters['Credential']
    if (-not $CredentialOrigin -and $null -ne $credential) {
        $keys = ConvertFrom-SSMCredentialObject -InputObject $credential
        if ($keys) {
            foreach ($entry in $keys.GetEnumerator()) { $Client[$entry.Key] = $entry.Value }
            $CredentialOrigin = 'supplied credentials object'
        } elseif ('Credential' -in $ExplicitParameters) {
            throw [System.ArgumentException]::new(
                '-Credential takes an AWSCredentials object (e.g. from Get-AWSCredential), a PSCredential with the access key as user name and the secret key as password, or an object with AccessKey and SecretKey (and optionally SessionToken).',
                'Credential')
        }
    }
    $networkCredential = $BoundParameters['NetworkCredential']
    if ($null -ne $networkCredential -and 'NetworkCredential' -in $ExplicitParameters -and $networkCredential -isnot [pscredential]) {
        throw [System.ArgumentException]::new('-NetworkCredential takes a PSCredential.', 'NetworkCredential')
    }
    if ($CredentialOrigin) { $CredentialOrigin } else { $null }
}
