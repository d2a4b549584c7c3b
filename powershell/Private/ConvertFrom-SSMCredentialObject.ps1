function ConvertFrom-SSMCredentialObject {
    <#
    .SYNOPSIS
    Extracts access key, secret key and session token from a credentials object.

    .DESCRIPTION
    Accepts what AWS Tools users hold: an AWS .NET SDK AWSCredentials object (its
    GetCredentials() gives AccessKey, SecretKey and Token), an AWS Tools AWSPSCredentials
    ($StoredAWSCredentials, whose .Credentials is such an object), a PSCredential (user
    name = access key, password = secret key), or any hashtable or object with AccessKey and
    SecretKey and optionally SessionToken or Token. Returns $null for anything else.

    .PARAMETER InputObject
    The candidate credentials object.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [AllowNull()]
        [object] $InputObject
    )

    if ($null -eq $InputObject) {
        return $null
    }
    if ($InputObject -is [pscredential]) {
        return @{
            AccessKey = $InputObject.UserName
            SecretKey = $InputObject.GetNetworkCredential().Password
        }
    }
    if ($InputObject.PSObject.Methods['GetCredentials']) {
        $InputObject = $InputObject.GetCredentials()
    } elseif ($InputObject.PSObject.Properties['Credentials'] -and $null -ne $InputObject.Credentials -and
        $InputObject.Credentials.PSObject.Methods['GetCredentials']) {
        $InputObject = $InputObject.Credentials.GetCredentials()
    }
    $read = {
        param([string[]] $Names)
        foreach ($name in $Names) {
            $value = if ($InputObject -is [System.Collections.IDictionary]) {
                $key = @($InputObject.Keys) | Where-Object { $_ -eq $name } | Select-Object -First 1
                if ($null -ne $key) { $InputObject[$key] }
            } elseif ($InputObject.PSObject.Properties[$name]) {
                $InputObject.$name
            }
            if (-not [string]::IsNullOrEmpty($value)) {
                return [string]$value
            }
        }
    }
    $accessKey = & $read 'AccessKey', 'AccessKeyId'
    $secretKey = & $read 'SecretKey', 'SecretAccessKey'
    if (-not $accessKey -or -not $secretKey) {
        return $null
    }
    $keys = @{ AccessKey = $accessKey; SecretKey = $secretKey }
    $token = & $read 'SessionToken', 'Token'
    if ($token) {
        $keys.SessionToken = $token
    }
    $keys
}
