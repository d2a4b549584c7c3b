function ConvertTo-SSMErrorRecord {
    <#
    .SYNOPSIS
    Builds the ErrorRecord for a failed native call.

    .DESCRIPTION
    Service errors follow AWS Tools for PowerShell: an InvalidOperationException carrying
    the service message, wrapping an exception that stands for the SDK's; the ErrorId is
    that SDK exception's type name (e.g.
    Amazon.SimpleSystemsManagement.Model.TargetNotConnectedException, or
    Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException for unmodelled
    codes) and the category InvalidOperation. Both exceptions carry ErrorCode, RequestId,
    StatusCode and Kind in their Data, so scripts can branch on the service code.
    Failures outside the service get SSMSession.* ids and a matching category.

    .PARAMETER ErrorInfo
    The envelope's error member (kind, code, message, requestId, httpStatus).

    .PARAMETER TargetObject
    The object the error is about.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory)]
        [pscustomobject] $ErrorInfo,

        [AllowNull()]
        [object] $TargetObject
    )

    $modelled = @{
        TargetNotConnected  = 'Amazon.SimpleSystemsManagement.Model.TargetNotConnectedException'
        InvalidDocument     = 'Amazon.SimpleSystemsManagement.Model.InvalidDocumentException'
        InternalServerError = 'Amazon.SimpleSystemsManagement.Model.InternalServerErrorException'
    }
    $category = [System.Management.Automation.ErrorCategory]
    $message = [string]$ErrorInfo.message
    switch ([string]$ErrorInfo.kind) {
        'service' {
            $errorId = $modelled[[string]$ErrorInfo.code]
            if (-not $errorId) { $errorId = 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException' }
            $inner = [System.Exception]::new($message)
            $exception = [System.InvalidOperationException]::new($message, $inner)
            $errorCategory = $category::InvalidOperation
        }
        { $_ -in 'credentials', 'region' } {
            $inner = $null
            $exception = [System.InvalidOperationException]::new($message)
            $errorId = 'InvalidOperationException'
            $errorCategory = $category::InvalidOperation
        }
        'transport' {
            $inner = $null
            $exception = [System.Net.Http.HttpRequestException]::new($message)
            $errorId = 'SSMSession.ConnectionFailure'
            $errorCategory = $category::ConnectionError
        }
        'timeout' {
            $inner = $null
            $exception = [System.TimeoutException]::new($message)
            $errorId = 'SSMSession.Timeout'
            $errorCategory = $category::OperationTimeout
        }
        'invalidResponse' {
            $inner = $null
            $exception = [System.IO.InvalidDataException]::new($message)
            $errorId = 'SSMSession.InvalidResponse'
            $errorCategory = $category::InvalidResult
        }
        { $_ -in 'invalidRequest', 'invalidInput' } {
            $inner = $null
            $exception = [System.ArgumentException]::new($message)
            $errorId = "SSMSession.$($ErrorInfo.code)"
            $errorCategory = $category::InvalidArgument
        }
        default {
            $inner = $null
            $exception = [System.InvalidOperationException]::new($message)
            $errorId = 'SSMSession.InternalError'
            $errorCategory = $category::NotSpecified
        }
    }
    foreach ($target in @($exception, $inner)) {
        if ($null -eq $target) { continue }
        $target.Data['ErrorCode'] = [string]$ErrorInfo.code
        $target.Data['Kind'] = [string]$ErrorInfo.kind
        $target.Data['RequestId'] = $ErrorInfo.requestId
        $target.Data['StatusCode'] = $ErrorInfo.httpStatus
    }
    [System.Management.Automation.ErrorRecord]::new($exception, $errorId, $errorCategory, $TargetObject)
}
