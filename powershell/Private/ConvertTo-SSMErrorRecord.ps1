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
    Failures outside the service get SSMSession.* ids and a matching category; data-channel
    failures are SSMSession.<code> (e.g. SSMSession.LocalPortUnavailable) with category
    ConnectionError; certificate and proxy failures are SSMSession.<code> too (e.g.
    SSMSession.CertificateNotTrusted with category SecurityError,
    SSMSession.ProxyAuthenticationRequired with ConnectionError).

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
        DoesNotExistException = 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException'
    }
    # Failures outside the service: kind -> exception type, ErrorId, category.
    $local = @{
        credentials     = [System.InvalidOperationException], 'InvalidOperationException', 'InvalidOperation'
        region          = [System.InvalidOperationException], 'InvalidOperationException', 'InvalidOperation'
        transport       = [System.Net.Http.HttpRequestException], 'SSMSession.ConnectionFailure', 'ConnectionError'
        network         = [System.Net.Http.HttpRequestException], "SSMSession.$($ErrorInfo.code)", $(if ("$($ErrorInfo.code)".StartsWith('Certificate')) { 'SecurityError' } else { 'ConnectionError' })
        timeout         = [System.TimeoutException], 'SSMSession.Timeout', 'OperationTimeout'
        cancelled       = [System.OperationCanceledException], 'SSMSession.Cancelled', 'OperationStopped'
        invalidResponse = [System.IO.InvalidDataException], 'SSMSession.InvalidResponse', 'InvalidResult'
        invalidRequest  = [System.ArgumentException], "SSMSession.$($ErrorInfo.code)", 'InvalidArgument'
        invalidInput    = [System.ArgumentException], "SSMSession.$($ErrorInfo.code)", 'InvalidArgument'
        dataChannel     = [System.InvalidOperationException], "SSMSession.$($ErrorInfo.code)", 'ConnectionError'
    }
    $message = [string]$ErrorInfo.message
    $kind = [string]$ErrorInfo.kind
    $inner = $null
    if ($kind -eq 'service') {
        $errorId = $modelled[[string]$ErrorInfo.code]
        if (-not $errorId) { $errorId = 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException' }
        $inner = [System.Exception]::new($message)
        $exception = [System.InvalidOperationException]::new($message, $inner)
        $category = 'InvalidOperation'
    } else {
        $type, $errorId, $category = if ($local.ContainsKey($kind)) {
            $local[$kind]
        } else {
            [System.InvalidOperationException], 'SSMSession.InternalError', 'NotSpecified'
        }
        $exception = $type::new($message)
    }
    foreach ($target in @($exception, $inner)) {
        if ($null -eq $target) { continue }
        $target.Data['ErrorCode'] = [string]$ErrorInfo.code
        $target.Data['Kind'] = [string]$ErrorInfo.kind
        $target.Data['RequestId'] = $ErrorInfo.requestId
        $target.Data['StatusCode'] = $ErrorInfo.httpStatus
        # AWS SDK ErrorType: Sender for 4xx, Receiver for 5xx.
        $target.Data['ErrorType'] = if ($ErrorInfo.httpStatus -ge 500) { 'Receiver' } elseif ($ErrorInfo.httpStatus -ge 400) { 'Sender' } else { $null }
    }
    [System.Management.Automation.ErrorRecord]::new($exception, $errorId, [System.Management.Automation.ErrorCategory]$category, $TargetObject)
}
