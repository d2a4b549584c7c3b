function ConvertTo-SSMServiceRequest {
    <#
    .SYNOPSIS
    Builds a native request (StartSession, TerminateSession, ResumeSession, or the client
    part of a port forward) from a public command's bound parameters.

    .DESCRIPTION
    API fields are sent only when bound, as AWS Tools sets only non-null request members.
    Credentials, first hit wins: -AccessKey/-SecretKey (-SessionToken), -Credential,
    -ProfileName/-ProfileLocation, $StoredAWSCredentials; after that the native default
    chain (environment keys, AWS_PROFILE, default profile, web identity, container,
    instance metadata). Region: -Region, $StoredAWSRegion, then the native chain
    (AWS_REGION, AWS_DEFAULT_REGION, the profile's region, instance metadata), then
    ClientConfig's RegionEndpoint. An environment snapshot travels with every request (see
    Get-SSMEnvironmentSnapshot). Bad values throw an ErrorRecord with ErrorId
    System.ArgumentException.

    Returns Request (the native request), CredentialOrigin and RegionOrigin (AWS Tools'
    debug labels for the sources decided here; $null when the native chain decides).

    .PARAMETER BoundParameters
    The public command's $PSBoundParameters.

    .PARAMETER Cmdlet
    The public command's $PSCmdlet: resolves -ProfileLocation against the PowerShell
    location and reads $StoredAWSCredentials and $StoredAWSRegion from the caller's scope.

    .PARAMETER ExplicitParameters
    Names of the parameters given on the command line rather than from the pipeline.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $BoundParameters,

        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [AllowEmptyCollection()]
        [string[]] $ExplicitParameters = @()
    )

    # Bound and not empty. (Inline checks rather than a helper: this runs on every call.)
    $accessKey = [string]$BoundParameters['AccessKey']
    $secretKey = [string]$BoundParameters['SecretKey']
    $sessionToken = [string]$BoundParameters['SessionToken']
    $profileName = [string]$BoundParameters['ProfileName']
    $profileLocation = [string]$BoundParameters['ProfileLocation']
    $endpointUrl = [string]$BoundParameters['EndpointUrl']
    $client = @{ Environment = Get-SSMEnvironmentSnapshot }
    $request = @{ Client = $client }
    $credentialOrigin = $null
    $regionOrigin = $null
    try {
        if ($null -ne $BoundParameters['ClientConfig']) {
            foreach ($entry in (ConvertFrom-SSMClientConfig -ClientConfig $BoundParameters['ClientConfig']).GetEnumerator()) {
                $client[$entry.Key] = $entry.Value
            }
        }

        if ($accessKey -and $secretKey) {
            $client.AccessKey = $accessKey
            $client.SecretKey = $secretKey
            if ($sessionToken) { $client.SessionToken = $sessionToken }
            $credentialOrigin = 'the supplied key parameters'
        } elseif ($accessKey -or $secretKey) {
            throw [System.ArgumentException]::new('-AccessKey and -SecretKey must be given together.', 'AccessKey')
        }

        $credential = $BoundParameters['Credential']
        if (-not $credentialOrigin -and $null -ne $credential) {
            $keys = ConvertFrom-SSMCredentialObject -InputObject $credential
            if ($keys) {
                foreach ($entry in $keys.GetEnumerator()) { $client[$entry.Key] = $entry.Value }
                $credentialOrigin = 'supplied credentials object'
            } elseif ('Credential' -in $ExplicitParameters) {
                throw [System.ArgumentException]::new(
                    '-Credential takes an AWSCredentials object (e.g. from Get-AWSCredential), a PSCredential with the access key as user name and the secret key as password, or an object with AccessKey and SecretKey (and optionally SessionToken).',
                    'Credential')
            }
            # A non-credential object bound from the pipeline is ignored: -Credential binds
            # any piped object by value, as DocumentName binds any piped string.
        }
        $networkCredential = $BoundParameters['NetworkCredential']
        if ($null -ne $networkCredential -and 'NetworkCredential' -in $ExplicitParameters -and $networkCredential -isnot [pscredential]) {
            throw [System.ArgumentException]::new('-NetworkCredential takes a PSCredential.', 'NetworkCredential')
        }

        if ($profileName) {
            $client.ProfileName = $profileName
            if (-not $credentialOrigin) { $credentialOrigin = "stored profile named '$($client.ProfileName)'" }
        }
        if ($profileLocation) {
            # Relative to the PowerShell location, which is not the process's working folder.
            $client.ProfileLocation = $Cmdlet.GetUnresolvedProviderPathFromPSPath($profileLocation)
            if (-not $credentialOrigin) { $credentialOrigin = 'the supplied profile location' }
        }

        $stored = $Cmdlet.GetVariableValue('StoredAWSCredentials')
        if (-not $credentialOrigin -and $null -ne $stored) {
            if ($stored -is [string]) {
                $client.ProfileName = $stored
            } else {
                $keys = ConvertFrom-SSMCredentialObject -InputObject $stored
                if (-not $keys) {
                    throw [System.ArgumentException]::new('$StoredAWSCredentials is set but holds no usable credentials; clear it with Remove-Variable StoredAWSCredentials -Scope Global or set it again.', 'StoredAWSCredentials')
                }
                foreach ($entry in $keys.GetEnumerator()) { $client[$entry.Key] = $entry.Value }
            }
            $credentialOrigin = 'shell variable $StoredAWSCredentials'
        }

        if ($null -ne $BoundParameters['Region']) {
            $region = $BoundParameters['Region']
            # The common case inline (a function call costs more than the rest of this).
            $client.Region = if ($region -is [string]) { [string]$region } else { ConvertTo-SSMRegionName -Region $region }
            $regionOrigin = 'region parameter'
        } else {
            $storedRegion = $Cmdlet.GetVariableValue('StoredAWSRegion')
            if ($null -ne $storedRegion -and [string]$storedRegion -ne '') {
                $client.Region = ConvertTo-SSMRegionName -Region $storedRegion
                $regionOrigin = 'shell variable $StoredAWSRegion'
            }
        }
        if ($endpointUrl) {
            $client.EndpointUrl = $endpointUrl
        }
        # Keys, tokens and names end up in HTTP headers, signatures and file lookups: a
        # control character (a line break pasted with a key) is refused here, naming where
        # it came from, never showing the value.
        foreach ($name in 'AccessKey', 'SecretKey', 'SessionToken', 'Region', 'ProfileName', 'EndpointUrl') {
            $value = $client[$name]
            if ($value -is [string] -and $value -match '[\x00-\x1F\x7F]') {
                $source = if ($BoundParameters.ContainsKey($name)) { "-$name" }
                elseif ($credentialOrigin -eq 'supplied credentials object') { "-Credential ($name)" }
                elseif ($credentialOrigin -eq 'shell variable $StoredAWSCredentials') { "`$StoredAWSCredentials ($name)" }
                elseif ($regionOrigin -eq 'shell variable $StoredAWSRegion' -and $name -eq 'Region') { '$StoredAWSRegion' }
                else { "-ClientConfig ($name)" }
                $at = [regex]::Match($value, '[\x00-\x1F\x7F]')
                throw [System.ArgumentException]::new(
                    ("{0} contains a control character (U+{1:X4} at position {2}); AWS keys, tokens, regions and names never do. Check for a line break or tab copied with it." -f $source, [int][char]$at.Value, ($at.Index + 1)),
                    ($source.TrimStart('-', '$') -replace ' .*$'))
            }
        }

        if ($null -ne $BoundParameters['Parameter']) {
            $request.Parameters = ConvertTo-SSMParameterMap -Parameter $BoundParameters['Parameter']
        }
    } catch [System.ArgumentException] {
        throw ([System.Management.Automation.ErrorRecord]::new(
                $_.Exception, 'System.ArgumentException', [System.Management.Automation.ErrorCategory]::InvalidArgument, $null))
    }
    foreach ($name in 'Target', 'DocumentName', 'Reason', 'SessionId') {
        if ($BoundParameters.ContainsKey($name)) {
            $request[$name] = [string]$BoundParameters[$name]
        }
    }
    [pscustomobject]@{
        Request          = $request
        CredentialOrigin = $credentialOrigin
        RegionOrigin     = $regionOrigin
    }
}
