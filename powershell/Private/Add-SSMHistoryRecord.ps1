function Add-SSMHistoryRecord {
    <#
    .SYNOPSIS
    Pushes one command's record onto $AWSHistory, keeping AWS Tools' bounds.

    .DESCRIPTION
    The record has CmdletName, CmdletStart, CmdletEnd, EmittedObjectsCount, Requests,
    Responses (each response, or the failure, with a LoggedAt note property),
    LastServiceResponse and LastServiceRequest. The oldest command, and the oldest responses
    of a command, are dropped beyond the buffer's limits. Does nothing when $AWSHistory
    belongs to someone else (see Get-SSMHistoryBuffer).

    .PARAMETER Cmdlet
    The calling cmdlet.

    .PARAMETER Start
    When the command started.

    .PARAMETER Responses
    The responses (or failures) the command received, oldest first.

    .PARAMETER EmittedObjectsCount
    How many objects the command wrote to the pipeline.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([void])]
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [datetime] $Start,

        [AllowEmptyCollection()]
        [System.Collections.Generic.List[object]] $Responses,

        [int] $EmittedObjectsCount
    )

    # Our buffer already in place: the common case, without a function call.
    $buffer = $Cmdlet.SessionState.PSVariable.GetValue('global:AWSHistory')
    if ($null -eq $buffer -or $buffer.PSObject.TypeNames[0] -ne 'SSMSession.AWSCmdletHistoryBuffer') {
        $buffer = Get-SSMHistoryBuffer -Cmdlet $Cmdlet
    }
    if ($null -eq $buffer -or $buffer.MaxCmdletHistory -le 0) {
        return
    }
    $kept = [System.Collections.Generic.List[object]]::new()
    $first = [math]::Max(0, $Responses.Count - $buffer.MaxServiceCallHistory)
    for ($i = $first; $i -lt $Responses.Count; $i++) { $kept.Add($Responses[$i]) }
    # A session token in a long-lived global variable is a secret lying around: kept out
    # unless the user opts in, like AWS Tools' Set-AWSHistoryConfiguration
    # -IncludeSensitiveData. (The recorded responses are copies: the output keeps its token.)
    if (-not $buffer.IncludeSensitiveData) {
        foreach ($response in $kept) {
            $token = $response.PSObject.Properties['TokenValue']
            if ($null -ne $token -and $null -ne $token.Value) { $token.Value = $script:SSMRedacted }
        }
    }
    $record = [pscustomobject]@{
        PSTypeName          = 'SSMSession.AWSCmdletHistory'
        CmdletName          = $Cmdlet.MyInvocation.MyCommand.Name
        CmdletStart         = $Start
        CmdletEnd           = [datetime]::Now
        EmittedObjectsCount = $EmittedObjectsCount
        Requests            = [System.Collections.Generic.List[object]]::new()
        Responses           = $kept
        # Plain properties, not type data (see Get-SSMHistoryBuffer). No request is kept.
        LastServiceResponse = if ($kept.Count -gt 0) { $kept[$kept.Count - 1] } else { $null }
        LastServiceRequest  = $null
    }
    $buffer.Commands.Add($record)
    while ($buffer.Commands.Count -gt $buffer.MaxCmdletHistory) {
        $buffer.Commands.RemoveAt(0)
    }
    $buffer.LastCommand = $record
    $buffer.LastServiceResponse = $record.LastServiceResponse
    $buffer.LastServiceRequest = $null
}
