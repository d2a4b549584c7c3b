function Register-SSMHistoryType {
    <#
    .SYNOPSIS
    Declares the computed members of the $AWSHistory buffer and its records, once per
    process.

    .DESCRIPTION
    LastCommand, LastServiceResponse, LastServiceRequest and the buffer's ToString() are
    type data on the type names SSMSession.AWSCmdletHistoryBuffer and
    SSMSession.AWSCmdletHistory, so each record is a plain object: adding members to every
    record would cost more than the rest of a call.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()

    if (Get-TypeData -TypeName 'SSMSession.AWSCmdletHistory') {
        return
    }
    Update-TypeData -TypeName 'SSMSession.AWSCmdletHistory' -MemberType ScriptProperty -MemberName LastServiceResponse -Value {
        if ($this.Responses.Count -gt 0) { $this.Responses[$this.Responses.Count - 1] }
    } -Force
    Update-TypeData -TypeName 'SSMSession.AWSCmdletHistory' -MemberType ScriptProperty -MemberName LastServiceRequest -Value {
        if ($this.Requests.Count -gt 0) { $this.Requests[$this.Requests.Count - 1] }
    } -Force
    Update-TypeData -TypeName 'SSMSession.AWSCmdletHistoryBuffer' -MemberType ScriptProperty -MemberName LastCommand -Value {
        if ($this.Commands.Count -gt 0) { $this.Commands[$this.Commands.Count - 1] }
    } -Force
    Update-TypeData -TypeName 'SSMSession.AWSCmdletHistoryBuffer' -MemberType ScriptProperty -MemberName LastServiceResponse -Value {
        $command = $this.LastCommand
        if ($command) { $command.LastServiceResponse }
    } -Force
    Update-TypeData -TypeName 'SSMSession.AWSCmdletHistoryBuffer' -MemberType ScriptProperty -MemberName LastServiceRequest -Value {
        $command = $this.LastCommand
        if ($command) { $command.LastServiceRequest }
    } -Force
    Update-TypeData -TypeName 'SSMSession.AWSCmdletHistoryBuffer' -MemberType ScriptMethod -MemberName ToString -Value {
        if ($this.Commands.Count -eq 0) { return '0 command(s) recorded' }
        '{0} command(s) recorded, last  = {1}' -f $this.Commands.Count, $this.LastCommand.CmdletName
    } -Force
}
