function Start-SSMSession {
    <#
    .SYNOPSIS
    Calls the AWS Systems Manager StartSession API operation.

    .DESCRIPTION
    Initiates a connection to a target (for example, a managed node) for a Session Manager
    session and returns the StartSession response: the session id, the data channel's
    stream URL and its token. Compatible with Start-SSMSession of AWS Tools for PowerShell
    (V4 semantics: the API is called and its response returned).

    The order is AWS Tools': credentials and region are resolved first (failing before any
    prompt), then ShouldProcess (-WhatIf, -Confirm, -Force), then -Select is checked, then
    the API is called once per pipeline record and the response (or the -Select result)
    is written. A pipeline stop (Ctrl+C) cancels the request in flight.

    Credentials, first hit wins: -AccessKey/-SecretKey (-SessionToken), -Credential,
    -ProfileName (in -ProfileLocation if given), $StoredAWSCredentials, then the AWS SDK
    default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE,
    the default profile (static keys, role_arn + source_profile, credential_process, SSO,
    web_identity_token_file), container credentials, instance metadata. A named profile
    that does not exist is an error. Region: -Region, $StoredAWSRegion, AWS_REGION,
    AWS_DEFAULT_REGION, the profile's region, instance metadata, -ClientConfig's
    RegionEndpoint. $env: changes made in this session are honoured.

    .PARAMETER DocumentName
    The session document to use, e.g. AWS-StartPortForwardingSession. Without it the
    service starts a shell with SSM-SessionManagerRunShell. Binds a piped string.

    .PARAMETER Parameter
    Document parameters as a hashtable of name to value or values, e.g.
    @{ portNumber = '80'; localPortNumber = '8080' }.

    .PARAMETER Reason
    Why the session is started (1-256 characters, no line breaks), recorded with the session.

    .PARAMETER Target
    The managed node, instance or other target to connect to, e.g. i-0123456789abcdef0.

    .PARAMETER Select
    What to output: '*' (default) for the whole response; a property path such as
    'SessionId' or 'SessionId.Length'; or '^' and a parameter name (e.g. '^DocumentName')
    for the value bound to that parameter.

    .PARAMETER PassThru
    Deprecated: outputs the value of -DocumentName, like -Select '^DocumentName'. Cannot
    be combined with -Select.

    .PARAMETER Force
    Starts the session without asking for confirmation. -WhatIf still takes precedence.

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
    UserAgent, and the proxy settings ProxyHost, ProxyPort, ProxyCredentials (PSCredential or
    NetworkCredential), ProxyBypassList (.NET WebProxy regular expressions) and
    ProxyBypassOnLocal, which replace HTTPS_PROXY and NO_PROXY for every connection (see
    about_SSMSession). Without them, AWS_MAX_ATTEMPTS and AWS_RETRY_MODE apply.

    .EXAMPLE
    Start-SSMSession -Target i-064578e5e7454488f -DocumentName AWS-StartPortForwardingSession -Parameter @{ localPortNumber = '8080'; portNumber = '80' } -Region eu-west-3

    Starts a port forwarding session and returns its SessionId, StreamUrl and TokenValue.

    .EXAMPLE
    'AWS-StartSSHSession' | Start-SSMSession -Target i-064578e5e7454488f -ProfileName prod -Reason 'ticket 4711' -Select SessionId

    Binds the piped document name, uses the credentials and region of the prod profile and
    outputs only the session id.

    .EXAMPLE
    Start-SSMSession -Target i-0123 -Region eu-west-3 -EndpointUrl http://127.0.0.1:5061 -AccessKey AKIDSSMEMULATOR -SecretKey ssm-emulator-secret-key

    Calls a local SSM endpoint such as ssm-emulator.

    .EXAMPLE
    Start-SSMSession -Target i-0123 -ClientConfig @{ RegionEndpoint = 'eu-west-3'; Timeout = 10; MaxErrorRetry = 1 } -WhatIf

    Shows what would be started, after checking that credentials and a region resolve.

    .EXAMPLE
    $env:HTTPS_PROXY = 'http://proxy.example.com:3128'; $env:AWS_CA_BUNDLE = "$HOME/corp-root.pem"
    Start-SSMSession -Target i-0123 -Region eu-west-3 -Debug

    Goes through a corporate proxy that inspects TLS with its own root certificate; -Debug
    prints the proxy (host:port) and the CA file each connection uses.

    .INPUTS
    System.String
    You can pipe a document name, or objects whose properties match the parameter names.

    .OUTPUTS
    Amazon.SimpleSystemsManagement.Model.StartSessionResponse
    SessionId, StreamUrl and TokenValue, plus ResponseMetadata, ContentLength and
    HttpStatusCode; or the -Select result.

    .LINK
    https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartSession.html
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Amazon.SimpleSystemsManagement.Model.StartSessionResponse')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [string] $DocumentName,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('Parameters')]
        [hashtable] $Parameter,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $Reason,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [AllowNull()]
        [AllowEmptyString()]
        [string] $Target,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $Select = '*',

        [Parameter(ValueFromPipelineByPropertyName)]
        [Obsolete("The -PassThru parameter is deprecated, use -Select '^DocumentName' instead. This parameter will be removed in a future version.")]
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
            -Operation StartSession -ShouldProcessTarget $DocumentName -ErrorTarget $Target
    }

    end {
        Complete-SSMApiRun -Cmdlet $PSCmdlet -Run $run
    }
}
