function ConvertTo-SSMStartSessionResponse {
    <#
    .SYNOPSIS
    The StartSessionResponse object AWS Tools returns, from the native envelope's data.

    .DESCRIPTION
    Declared properties SessionId, StreamUrl and TokenValue, plus the inherited
    ResponseMetadata (RequestId, Metadata), ContentLength and HttpStatusCode. The type name
    selects the table view in SSMSession.format.ps1xml.

    .PARAMETER Data
    The envelope's data member.
    #>
    [CmdletBinding()]
    [OutputType('Amazon.SimpleSystemsManagement.Model.StartSessionResponse')]
    param(
        [Parameter(Mandatory)]
        [pscustomobject] $Data
    )

    [pscustomobject]@{
        PSTypeName       = 'Amazon.SimpleSystemsManagement.Model.StartSessionResponse'
        SessionId        = $Data.SessionId
        StreamUrl        = $Data.StreamUrl
        TokenValue       = $Data.TokenValue
        ResponseMetadata = [pscustomobject]@{
            PSTypeName = 'Amazon.Runtime.ResponseMetadata'
            RequestId  = $Data.RequestId
            Metadata   = @{}
        }
        ContentLength    = [long]$(if ($null -ne $Data.ContentLength) { $Data.ContentLength } else { -1 })
        HttpStatusCode   = [System.Net.HttpStatusCode][int]$Data.HttpStatusCode
    }
}
