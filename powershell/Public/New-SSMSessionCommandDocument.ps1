function New-SSMSessionCommandDocument {
    <#
    .SYNOPSIS
    Creates a session document with which the SSM agent keeps a command's standard error
    apart, streams its output and reports its exit code.

    .DESCRIPTION
    AWS's own AWS-StartNonInteractiveCommand document does not ask the agent for separate
    output streams, so the agent mixes standard error into standard output, holds all of it
    until the command has ended, and sends no exit code (Invoke-SSMSessionCommand then
    learns the code from its shell wrapper). This command creates, with SSM CreateDocument,
    a NonInteractiveCommands session document (schema 1.0, JSON) in your account and region
    whose properties set separateOutputStream for Linux, macOS and Windows nodes, with one
    parameter, command. Use it with Invoke-SSMSessionCommand -DocumentName, or with
    Start-SSMSession -DocumentName and a command parameter.

    It needs ssm:CreateDocument; users of it need ssm:StartSession on the document. It fails
    with DocumentAlreadyExists when the name is taken. Credentials, region and endpoint
    resolve as for Start-SSMSession.

    .PARAMETER Name
    The document's name: 3 to 128 letters, digits, '_', '-' or '.' (names starting with
    aws, amazon or amzn are reserved by AWS).

    .PARAMETER ClientConfig
    Client settings as for Start-SSMSession -ClientConfig.

    .PARAMETER AccessKey
    The AWS access key id; use with -SecretKey (and -SessionToken for temporary keys).

    .PARAMETER SecretKey
    The AWS secret access key that belongs to -AccessKey.

    .PARAMETER SessionToken
    The session token that belongs to temporary -AccessKey/-SecretKey credentials.

    .PARAMETER Credential
    Credentials to use, as for Start-SSMSession -Credential.

    .PARAMETER ProfileName
    A named profile in the shared AWS config and credentials files.

    .PARAMETER ProfileLocation
    A credentials file to read profiles from instead of the default shared files.

    .PARAMETER Region
    The region to create the document in, as a system name such as eu-west-3.

    .PARAMETER EndpointUrl
    The SSM endpoint (e.g. the local emulator, http://127.0.0.1:<port>).

    .EXAMPLE
    New-SSMSessionCommandDocument -Name Run-SeparateOutput -Region eu-west-3 -WhatIf

    Shows what would be created, without creating it.

    .EXAMPLE
    New-SSMSessionCommandDocument Run-SeparateOutput -Region eu-west-3
    Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'make test' -DocumentName Run-SeparateOutput -Region eu-west-3

    Creates the document once, then runs commands with live output and standard error apart.

    .INPUTS
    None

    .OUTPUTS
    SSMSession.SessionDocument

    .LINK
    Invoke-SSMSessionCommand

    .LINK
    https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('SSMSession.SessionDocument')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidatePattern('^[a-zA-Z0-9_\-.]{3,128}$')]
        [string] $Name,

        [object] $ClientConfig,

        [Alias('AK')]
        [string] $AccessKey,

        [Alias('SK', 'SecretAccessKey')]
        [string] $SecretKey,

        [Alias('ST')]
        [string] $SessionToken,

        [object] $Credential,

        [Alias('StoredCredentials', 'AWSProfileName')]
        [string] $ProfileName,

        [Alias('AWSProfilesLocation', 'ProfilesLocation')]
        [string] $ProfileLocation,

        [Alias('RegionToCall')]
        [object] $Region,

        [string] $EndpointUrl
    )

    . Use-SSMCallerPreference -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters
    try {
        $bound = @{}
        foreach ($parameter in $script:SSMClientParameterNames) {
            if ($PSBoundParameters.ContainsKey($parameter)) { $bound[$parameter] = $PSBoundParameters[$parameter] }
        }
        $built = ConvertTo-SSMServiceRequest -BoundParameters $bound -Cmdlet $PSCmdlet -ExplicitParameters @($PSBoundParameters.Keys)
        $client = $built.Request.Client
        if (-not $PSCmdlet.ShouldProcess($Name, 'New-SSMSessionCommandDocument (CreateDocument: a NonInteractiveCommands session document with separateOutputStream)')) { return }
        $resolved = Resolve-SSMClient -Client $client
        if (-not $resolved.Ok) {
            throw (ConvertTo-SSMErrorRecord -ErrorInfo $resolved.Error -TargetObject $Name)
        }
        Write-Verbose "Invoking AWS Systems Manager operation 'CreateDocument' $(Get-SSMDestinationText -Client $client -Region $resolved.Data.Region)"
        $created = Invoke-SSMOperation -Operation CreateCommandDocument -Request @{ Name = $Name; Client = $client }
        if (-not $created.Ok) {
            throw (ConvertTo-SSMErrorRecord -ErrorInfo $created.Error -TargetObject $Name)
        }
        $data = $created.Data
        [pscustomobject]@{
            PSTypeName      = 'SSMSession.SessionDocument'
            Name            = $data.Name
            DocumentType    = $data.DocumentType
            DocumentVersion = $data.DocumentVersion
            Status          = $data.Status
            Owner           = $data.Owner
        }
    } catch {
        $PSCmdlet.ThrowTerminatingError($_)
    }
}
