function Complete-SSMApiRun {
    <#
    .SYNOPSIS
    Records a run of Start-, Stop- or Resume-SSMSession in $AWSHistory, once, keeping AWS
    Tools' bounds.

    .DESCRIPTION
    Called from the command's end block, and before a terminating error (which skips the
    end block); the second call does nothing.

    The record has CmdletName, CmdletStart, CmdletEnd, EmittedObjectsCount, Requests,
    Responses (each response, or the failure, with a LoggedAt note property),
    LastServiceResponse and LastServiceRequest. The oldest command, and the oldest responses
    of a command, are dropped beyond the buffer's limits. Records nothing when $AWSHistory
    belongs to someone else (see Get-SSMHistoryBuffer).

    .PARAMETER Cmdlet
    The public command's $PSCmdlet.

    .PARAMETER Run
    The run from New-SSMApiRun: when it started, the responses (or failures) it received,
    oldest first, and how many objects it wrote.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([void])]
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [pscustomobject] $Run
    )

    if ($Run.Recorded) { return }
    $Run.Recorded = $true
    $responses = $Run.Responses
    # Our buffer already in place: the common case, without a function call.
    $buffer = $Cmdlet.SessionState.PSVariable.GetValue('global:AWSHistory')
    if ($null -eq $buffer -or $buffer.PSObject.TypeNames[0] -ne 'SSMSession.AWSCmdletHistoryBuffer') {
        $buffer = Get-SSMHistoryBuffer -Cmdlet $Cmdlet
    }
    if ($null -eq $buffer -or $buffer.MaxCmdletHistory -le 0) {
        return
    }
    # The newest MaxServiceCallHistory responses (all of them, in the usual case of one).
    $first = $responses.Count - $buffer.MaxServiceCallHistory
    # (Assigned in each branch: a list written to the pipeline would be unrolled.)
    if ($first -le 0) {
        $kept = [System.Collections.Generic.List[object]]::new($responses)
    } else {
        $kept = $responses.GetRange($first, $buffer.MaxServiceCallHistory)
    }
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
        CmdletStart         = $Run.Start
        CmdletEnd           = [datetime]::Now
        EmittedObjectsCount = $Run.EmittedCount
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
