function Stop-SSMSession {
    <#
    .SYNOPSIS
    Calls the AWS Systems Manager TerminateSession API operation.

    .DESCRIPTION
    Permanently ends a session and closes the data connection between the Session Manager
    client and SSM Agent on the managed node. A terminated session can't be resumed; a
    Connect-SSMSession forward of it ends with the service's channel_closed message.
    Compatible with Stop-SSMSession of AWS Tools for PowerShell: outputs the SessionId by
    default.

    Credentials and region resolve as for Start-SSMSession (see Get-Help Start-SSMSession
    -Full); ShouldProcess comes after them, then -Select is checked, then the API is called
    once per pipeline record. A pipeline stop (Ctrl+C) cancels the request in flight.

    .PARAMETER SessionId
    The session's id, e.g. emulator-user-0123456789abcdef0. Binds a piped string and the
    SessionId property of piped objects (such as Start-SSMSession's output).

    .PARAMETER Select
    What to output: 'SessionId' (default); '*' for the whole TerminateSessionResponse; or
    '^SessionId' for the value bound to -SessionId.

    .PARAMETER PassThru
    Deprecated: outputs the value of -SessionId, like -Select '^SessionId'. Cannot be
    combined with -Select.

    .PARAMETER Force
    Runs without asking for confirmation. -WhatIf still takes precedence.

    .PARAMETER AccessKey
    The AWS access key id; use with -SecretKey (and -SessionToken for temporary keys).

    .PARAMETER SecretKey
    The AWS secret access key that belongs to -AccessKey.

    .PARAMETER SessionToken
    The session token that belongs to temporary -AccessKey/-SecretKey credentials.

    .PARAMETER Credential
    Credentials to use: an AWS Tools AWSCredentials object (e.g. from Get-AWSCredential), a
    PSCredential with the access key as user name and the secret key as password, or an
    object or hashtable with AccessKey, SecretKey and optionally SessionToken.

    .PARAMETER ProfileName
    A named profile in the shared AWS config and credentials files. Its region is used when
    -Region is not given.

    .PARAMETER ProfileLocation
    A credentials file to read profiles from instead of the default shared files.

    .PARAMETER NetworkCredential
    Accepted for compatibility with AWS Tools, where it authenticates SAML role profiles.
    SAML profiles of the AWS .NET SDK credential store cannot be read by SSMSession.

    .PARAMETER Region
    The region to call, as a system name such as eu-west-3 (or an AWS Tools region object).

    .PARAMETER EndpointUrl
    The endpoint to call instead of the region's SSM endpoint, e.g. a VPC endpoint or the
    local emulator (http://127.0.0.1:<port>). Requests are still signed for the region.

    .PARAMETER ClientConfig
    Client settings as a hashtable or object with AWS Tools' AmazonSimpleSystemsManagementConfig
    names: ServiceURL, RegionEndpoint, AuthenticationRegion, Timeout, ReadWriteTimeout
    (TimeSpan or seconds), MaxErrorRetry, RetryMode, UseFIPSEndpoint, UseDualstackEndpoint,
    UserAgent. Without them, AWS_MAX_ATTEMPTS and AWS_RETRY_MODE apply.

    .EXAMPLE
    Stop-SSMSession -SessionId emulator-user-0123456789abcdef0 -Region eu-west-3 -Force

    Terminates the session without asking and outputs its id.

    .EXAMPLE
    Start-SSMSession -Target i-0123 -Region eu-west-3 | Stop-SSMSession -Select '*' -Confirm:$false

    Starts and immediately terminates a session, outputting the whole response.


    .EXAMPLE
    $emulator = Start-SSMSessionEmulator; $p = $emulator.Parameters
    Start-SSMSession -Target i-0123456789abcdef0 @p | Stop-SSMSession -Force @p
    $emulator.Stop()

    Starts a session on the local emulator and terminates it: the piped response binds its
    SessionId.

    .INPUTS
    System.String
    You can pipe a session id, or objects with a SessionId property.

    .OUTPUTS
    System.String
    The terminated session's id; or the TerminateSessionResponse (SessionId, ResponseMetadata,
    ContentLength, HttpStatusCode) or another -Select result.

    .LINK
    https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_TerminateSession.html
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('System.String', 'Amazon.SimpleSystemsManagement.Model.TerminateSessionResponse')]
    param(
        [Parameter(Position = 0, Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [AllowNull()]
        [AllowEmptyString()]
        [string] $SessionId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $Select = 'SessionId',

        [Parameter(ValueFromPipelineByPropertyName)]
        [Obsolete("The -PassThru parameter is deprecated, use -Select '^SessionId' instead. This parameter will be removed in a future version.")]
        [switch] $PassThru,

        [Parameter(ValueFromPipelineByPropertyName)]
        [switch] $Force,

        [Parameter(ValueFromPipelineByPropertyName)]
        [object] $ClientConfig,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('AK')]
        [string] $AccessKey,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('SK', 'SecretAccessKey')]
        [string] $SecretKey,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ST')]
        [string] $SessionToken,

        [Parameter(ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [object] $Credential,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('StoredCredentials', 'AWSProfileName')]
        [string] $ProfileName,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('AWSProfilesLocation', 'ProfilesLocation')]
        [string] $ProfileLocation,

        [Parameter(ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [object] $NetworkCredential,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('RegionToCall')]
        [object] $Region,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $EndpointUrl
    )

    begin {
        $run = New-SSMApiRun -BoundParameters $PSBoundParameters
    }

    process {
        Invoke-SSMApiCommand -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Run $run `
            -Operation TerminateSession -ShouldProcessTarget $SessionId -ErrorTarget $SessionId
    }

    end {
        Complete-SSMApiRun -Cmdlet $PSCmdlet -Run $run
    }
}
