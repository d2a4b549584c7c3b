function ConvertTo-SSMServiceResponse {
    <#
    .SYNOPSIS
    The response object AWS Tools returns for an SSM session operation, from the native
    envelope's data.

    .DESCRIPTION
    The declared properties of the operation's response type (StartSessionResponse and
    ResumeSessionResponse: SessionId, StreamUrl, TokenValue; TerminateSessionResponse:
    SessionId), plus the inherited ResponseMetadata (RequestId, Metadata), ContentLength
    and HttpStatusCode. The type name selects the view in SSMSession.format.ps1xml.

    .PARAMETER Operation
    StartSession, TerminateSession or ResumeSession.

    .PARAMETER Data
    The envelope's data member.
    #>
    [CmdletBinding()]
    [OutputType('Amazon.SimpleSystemsManagement.Model.StartSessionResponse',
        'Amazon.SimpleSystemsManagement.Model.TerminateSessionResponse',
        'Amazon.SimpleSystemsManagement.Model.ResumeSessionResponse')]
    param(
        [Parameter(Mandatory)]
        [ValidateSet('StartSession', 'TerminateSession', 'ResumeSession')]
        [string] $Operation,

        [Parameter(Mandatory)]
        [pscustomobject] $Data
    )

    $response = [ordered]@{
        PSTypeName = "Amazon.SimpleSystemsManagement.Model.$($Operation)Response"
        SessionId  = $Data.SessionId
    }
    if ($Operation -ne 'TerminateSession') {
        $response.StreamUrl = $Data.StreamUrl
        $response.TokenValue = $Data.TokenValue
    }
    $response.ResponseMetadata = [pscustomobject]@{
        PSTypeName = 'Amazon.Runtime.ResponseMetadata'
        RequestId  = $Data.RequestId
        Metadata   = @{}
    }
    $response.ContentLength = [long]$(if ($null -ne $Data.ContentLength) { $Data.ContentLength } else { -1 })
    $response.HttpStatusCode = [System.Net.HttpStatusCode][int]$Data.HttpStatusCode
    [pscustomobject]$response
}
