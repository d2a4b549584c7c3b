function Add-SSMStoredCredential {
    <#
    .SYNOPSIS
    Adds $StoredAWSCredentials (a profile name or a credentials object) to a native client's settings.

    .DESCRIPTION
    Part of ConvertTo-SSMServiceRequest that only calls in a session with
    $StoredAWSCredentials set (Set-AWSCredential) need, when no parameter decided the
    credentials. Throws System.ArgumentException when the variable holds nothing usable.
    Returns the credential origin AWS Tools reports for it.

    .PARAMETER Client
    The client settings being built.

    .PARAMETER StoredCredentials
    The value of $StoredAWSCredentials in the caller's scope.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [hashtable] $Client,

        [Parameter(Mandatory)]
        [object] $StoredCredentials
    )

    if ($StoredCredentials -is [string]) {
        $Client.ProfileName = $StoredCredentials
    } else {
        $keys = ConvertFrom-SSMCredentialObject -InputObject $StoredCredentials
        if (-not $keys) {
            throw [System.ArgumentException]::new('$StoredAWSCredentials is set but holds no usable credentials; clear it with Remove-Variable StoredAWSCredentials -Scope Global or set it again.', 'StoredAWSCredentials')
        }
        foreach ($entry in $keys.GetEnumerator()) { $Client[$entry.Key] = $entry.Value }
    }
    'shell variable $StoredAWSCredentials'
}
