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
    The envelope's Error member (Kind, Code, Message, RequestId, HttpStatus).

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
    $message = [string]$ErrorInfo.Message
    $kind = [string]$ErrorInfo.Kind
    $code = [string]$ErrorInfo.Code
    # A kind this module does not know (a newer library) reads as an internal failure.
    $typeName, $errorIdFormat, $category = if ($script:SSMErrorKinds.ContainsKey($kind)) {
        $script:SSMErrorKinds[$kind]
    } else {
        $script:SSMErrorKinds['internal']
    }
    $type = [type]$typeName
    $errorId = $errorIdFormat -f $code
    $inner = $null
    if ($kind -eq 'service') {
        if ($modelled.ContainsKey($code)) { $errorId = $modelled[$code] }
        # As the AWS SDK: the service's exception inside the cmdlet's.
        $inner = [System.Exception]::new($message)
        $exception = $type::new($message, $inner)
    } else {
        if ($kind -eq 'network' -and $code.StartsWith('Certificate')) { $category = 'SecurityError' }
        $exception = $type::new($message)
    }
    foreach ($target in @($exception, $inner)) {
        if ($null -eq $target) { continue }
        $target.Data['ErrorCode'] = $code
        $target.Data['Kind'] = $kind
        $target.Data['RequestId'] = $ErrorInfo.RequestId
        $target.Data['StatusCode'] = $ErrorInfo.HttpStatus
        # AWS SDK ErrorType: Sender for 4xx, Receiver for 5xx.
        $target.Data['ErrorType'] = if ($ErrorInfo.HttpStatus -ge 500) { 'Receiver' } elseif ($ErrorInfo.HttpStatus -ge 400) { 'Sender' } else { $null }
    }
    [System.Management.Automation.ErrorRecord]::new($exception, $errorId, [System.Management.Automation.ErrorCategory]$category, $TargetObject)
}
