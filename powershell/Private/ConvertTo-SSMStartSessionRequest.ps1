function ConvertTo-SSMStartSessionRequest {
    <#
    .SYNOPSIS
    Builds the native start_session request from Start-SSMSession's bound parameters.

    .DESCRIPTION
    API fields are sent only when bound, as AWS Tools sets only non-null request members.
    Client settings carry the credential, region and endpoint parameters and a snapshot of
    the environment (see Get-SSMEnvironmentSnapshot). Bad -Region or -Parameter values
    throw an ErrorRecord with ErrorId ArgumentException.

    .PARAMETER BoundParameters
    Start-SSMSession's $PSBoundParameters.

    .PARAMETER Cmdlet
    Start-SSMSession's $PSCmdlet, to resolve -ProfileLocation against the PowerShell location.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $BoundParameters,

        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet] $Cmdlet
    )

    $client = @{ Environment = Get-SSMEnvironmentSnapshot }
    $request = @{ Client = $client }
    try {
        if ($null -ne $BoundParameters['Region']) {
            $client.Region = ConvertTo-SSMRegionName -Region $BoundParameters['Region']
        }
        if ($null -ne $BoundParameters['Parameter']) {
            $request.Parameters = ConvertTo-SSMParameterMap -Parameter $BoundParameters['Parameter']
        }
    } catch [System.ArgumentException] {
        throw ([System.Management.Automation.ErrorRecord]::new(
                $_.Exception, 'ArgumentException', [System.Management.Automation.ErrorCategory]::InvalidArgument, $null))
    }
    foreach ($name in 'EndpointUrl', 'AccessKey', 'SecretKey', 'SessionToken', 'ProfileName') {
        $value = [string]$BoundParameters[$name]
        if ($value) {
            $client[$name] = $value
        }
    }
    $profileLocation = [string]$BoundParameters['ProfileLocation']
    if ($profileLocation) {
        # Relative to the PowerShell location, which is not the process's working folder.
        $client.ProfileLocation = $Cmdlet.GetUnresolvedProviderPathFromPSPath($profileLocation)
    }
    foreach ($name in 'Target', 'DocumentName', 'Reason') {
        if ($BoundParameters.ContainsKey($name)) {
            $request[$name] = [string]$BoundParameters[$name]
        }
    }
    $request
}
