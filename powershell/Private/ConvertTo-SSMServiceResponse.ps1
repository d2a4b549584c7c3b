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

    .PARAMETER History
    Receives the copy $AWSHistory keeps: the same properties plus LoggedAt (the returned
    object has no LoggedAt, as in AWS Tools). Made from the same dictionary as the response:
    cheaper than copying the finished object (PSObject.Copy) or its fields.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType('Amazon.SimpleSystemsManagement.Model.StartSessionResponse',
        'Amazon.SimpleSystemsManagement.Model.TerminateSessionResponse',
        'Amazon.SimpleSystemsManagement.Model.ResumeSessionResponse')]
    param(
        [ValidateSet('StartSession', 'TerminateSession', 'ResumeSession')]
        [string] $Operation,

        [pscustomobject] $Data,

        [System.Collections.Generic.List[object]] $History
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
    $result = [pscustomobject]$response
    if ($null -ne $History) {
        # Each conversion makes a new object: the second one, with LoggedAt, is the copy.
        $response.LoggedAt = [datetime]::Now
        $History.Add([pscustomobject]$response)
    }
    $result
}
