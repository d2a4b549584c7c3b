function Start-SSMSession {
    <#
    .SYNOPSIS
    Calls the AWS Systems Manager StartSession API operation.

    .DESCRIPTION
    Initiates a connection to a target (for example, a managed node) for a Session Manager
    session and returns the StartSession response: the session id, the data channel's
    stream URL and its token. Compatible with Start-SSMSession of AWS Tools for PowerShell
    (V4 semantics: the API is called and its response returned).

    Credentials come from -AccessKey/-SecretKey, then -ProfileName (optionally in
    -ProfileLocation), then the AWS SDK default chain (environment, shared config and
    credentials files including SSO and credential_process, web identity, container and
    instance roles). The region comes from -Region, the selected profile, then AWS_REGION.
    $env: changes made in this session are honoured.

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

    .PARAMETER Force
    Starts the session without asking for confirmation. -WhatIf still takes precedence.

    .PARAMETER AccessKey
    The AWS access key id; use with -SecretKey (and -SessionToken for temporary keys).

    .PARAMETER SecretKey
    The AWS secret access key that belongs to -AccessKey.

    .PARAMETER SessionToken
    The session token that belongs to temporary -AccessKey/-SecretKey credentials.

    .PARAMETER ProfileName
    A named profile in the shared AWS config and credentials files. Its region is used when
    -Region is not given.

    .PARAMETER ProfileLocation
    A credentials file to read profiles from instead of the default shared files.

    .PARAMETER Region
    The region to call, as a system name such as eu-west-3 (or an AWS Tools region object).

    .PARAMETER EndpointUrl
    The endpoint to call instead of the region's SSM endpoint, e.g. a VPC endpoint or the
    local emulator (http://127.0.0.1:<port>). Requests are still signed for the region.

    .EXAMPLE
    Start-SSMSession -Target i-064578e5e7454488f -DocumentName AWS-StartPortForwardingSession -Parameter @{ localPortNumber = '8080'; portNumber = '80' } -Region eu-west-3

    Starts a port forwarding session and returns its SessionId, StreamUrl and TokenValue.

    .EXAMPLE
    'AWS-StartSSHSession' | Start-SSMSession -Target i-064578e5e7454488f -ProfileName prod -Reason 'ticket 4711'

    Binds the piped document name and uses the credentials and region of the prod profile.

    .EXAMPLE
    Start-SSMSession -Target i-0123 -Region eu-west-3 -EndpointUrl http://127.0.0.1:5061 -AccessKey AKIDSSMEMULATOR -SecretKey ssm-emulator-secret-key

    Calls a local SSM endpoint such as ssm-emulator.

    .INPUTS
    System.String
    You can pipe a document name, or objects whose properties match the parameter names.

    .OUTPUTS
    Amazon.SimpleSystemsManagement.Model.StartSessionResponse
    SessionId, StreamUrl and TokenValue, plus ResponseMetadata, ContentLength and HttpStatusCode.

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
        [switch] $Force,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('AK')]
        [string] $AccessKey,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('SK', 'SecretAccessKey')]
        [string] $SecretKey,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ST')]
        [string] $SessionToken,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('StoredCredentials', 'AWSProfileName')]
        [string] $ProfileName,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('AWSProfilesLocation', 'ProfilesLocation')]
        [string] $ProfileLocation,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('RegionToCall')]
        [object] $Region,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $EndpointUrl
    )

    process {
        try {
            $request = ConvertTo-SSMStartSessionRequest -BoundParameters $PSBoundParameters -Cmdlet $PSCmdlet

            # -WhatIf wins over -Force; -Force alone skips ShouldProcess and so any prompt.
            $whatIf = $PSBoundParameters.ContainsKey('WhatIf') -and [bool]$PSBoundParameters['WhatIf']
            if ($whatIf -or -not $Force) {
                if (-not $PSCmdlet.ShouldProcess([string]$DocumentName, 'Start-SSMSession (StartSession)')) {
                    return
                }
            }

            Write-Verbose "Invoking AWS Systems Manager operation 'StartSession' $(Get-SSMDestinationText -Client $request.Client)"
            $envelope = Invoke-SSMNative -Operation start_session -Request $request
            if (-not $envelope.ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $envelope.error -TargetObject $Target)
            }
            ConvertTo-SSMStartSessionResponse -Data $envelope.data
        } catch {
            $PSCmdlet.ThrowTerminatingError($_)
        }
    }
}
