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
    ClientConfig's RegionEndpoint. Bad values throw an ErrorRecord with ErrorId
    System.ArgumentException.

    An environment snapshot travels with every request. On Linux and macOS, .NET keeps $env:
    changes in a managed copy that native code cannot see, so `$env:AWS_PROFILE = 'x'`
    would be ignored by the native core. The request carries every AWS_* variable
    (AWS_CA_BUNDLE among them), the variables that locate the home folder (for ~/.aws), the
    proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY, either case), the extra
    CA locations (SSL_CERT_FILE, SSL_CERT_DIR) and SSMSESSION_ALLOW_HTTP (plain-text
    endpoints beyond loopback), and the core resolves against this snapshot only.

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
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([pscustomobject])]
    param(
        [System.Collections.IDictionary] $BoundParameters,

        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [AllowEmptyCollection()]
        [string[]] $ExplicitParameters = @()
    )

    # This runs on every call and its whole text is compiled on a process's first call: the
    # common path is inline, what few calls need (credential objects, control characters)
    # is in helpers that only the calls needing them compile.
    $accessKey = [string]$BoundParameters['AccessKey']
    $secretKey = [string]$BoundParameters['SecretKey']
    $profileName = [string]$BoundParameters['ProfileName']
    $profileLocation = [string]$BoundParameters['ProfileLocation']
    $endpointUrl = [string]$BoundParameters['EndpointUrl']
    $environmentNames = $script:SSMEnvironmentNames
    if ($null -eq $environmentNames) {
        # Built on first use, not at import; either case of each name (https_proxy too).
        $environmentNames = [System.Collections.Generic.HashSet[string]]::new(
            [string[]]('HOME', 'USERPROFILE', 'HOMEDRIVE', 'HOMEPATH', 'HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY',
                'SSL_CERT_FILE', 'SSL_CERT_DIR', 'SSMSESSION_ALLOW_HTTP'),
            [System.StringComparer]::OrdinalIgnoreCase)
        $script:SSMEnvironmentNames = $environmentNames
    }
    $environment = @{}
    foreach ($variable in [System.Environment]::GetEnvironmentVariables().GetEnumerator()) {
        $variableName = [string]$variable.Key
        if ($variableName.StartsWith('AWS_', [System.StringComparison]::OrdinalIgnoreCase) -or $environmentNames.Contains($variableName)) {
            $environment[$variableName] = $variable.Value
        }
    }
    $client = @{ Environment = $environment }
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
            $sessionToken = [string]$BoundParameters['SessionToken']
            if ($sessionToken) { $client.SessionToken = $sessionToken }
            $credentialOrigin = 'the supplied key parameters'
        } elseif ($accessKey -or $secretKey) {
            throw [System.ArgumentException]::new('-AccessKey and -SecretKey must be given together.', 'AccessKey')
        }
        if ($null -ne $BoundParameters['Credential'] -or $null -ne $BoundParameters['NetworkCredential']) {
            $credentialOrigin = Add-SSMCredentialObject -Client $client -BoundParameters $BoundParameters -ExplicitParameters $ExplicitParameters -CredentialOrigin $credentialOrigin
        }

        if ($profileName) {
            $client.ProfileName = $profileName
            if (-not $credentialOrigin) { $credentialOrigin = "stored profile named '$profileName'" }
        }
        if ($profileLocation) {
            # Relative to the PowerShell location, which is not the process's working folder.
            $client.ProfileLocation = $Cmdlet.GetUnresolvedProviderPathFromPSPath($profileLocation)
            if (-not $credentialOrigin) { $credentialOrigin = 'the supplied profile location' }
        }
        if (-not $credentialOrigin) {
            $stored = $Cmdlet.GetVariableValue('StoredAWSCredentials')
            if ($null -ne $stored) {
                $credentialOrigin = Add-SSMStoredCredential -Client $client -StoredCredentials $stored
            }
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
        # control character (a line break pasted with a key) is refused, naming where it
        # came from, never showing the value.
        # One test over all of them (the usual case: none has one), then which one.
        if ([string]::Concat($client['AccessKey'], $client['SecretKey'], $client['SessionToken'], $client['Region'], $client['ProfileName'], $client['EndpointUrl']) -match '[\x00-\x1F\x7F]') {
            foreach ($name in 'AccessKey', 'SecretKey', 'SessionToken', 'Region', 'ProfileName', 'EndpointUrl') {
                $value = $client[$name]
                if ($value -is [string] -and $value -match '[\x00-\x1F\x7F]') {
                    throw (New-SSMControlCharacterException -Name $name -Value $value -BoundParameters $BoundParameters -CredentialOrigin $credentialOrigin -RegionOrigin $regionOrigin)
                }
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
