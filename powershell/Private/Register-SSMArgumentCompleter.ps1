function Register-SSMArgumentCompleter {
    <#
    .SYNOPSIS
    Registers tab completion for -Region and -ProfileName of every command, -DocumentName
    of Start- and Connect-SSMSession, and -Select of Start-, Stop- and Resume-SSMSession.

    .DESCRIPTION
    Runs at import, so it only registers: one completer, a script block of this module
    (no closures: each GetNewClosure() builds a dynamic module, ~10 ms at import for the
    seven it took before), asks Get-SSMCompletionResult for the values when Tab is pressed.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()

    $completer = {
        param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
        $null = $commandAst
        Get-SSMCompletionResult -CommandName $commandName -ParameterName $parameterName -WordToComplete $wordToComplete `
            -FakeBoundParameters $fakeBoundParameters
    }
    $allCommands = 'Start-SSMSession', 'Stop-SSMSession', 'Resume-SSMSession', 'Connect-SSMSession'
    Register-ArgumentCompleter -CommandName $allCommands -ParameterName Region -ScriptBlock $completer
    Register-ArgumentCompleter -CommandName $allCommands -ParameterName ProfileName -ScriptBlock $completer
    Register-ArgumentCompleter -CommandName 'Start-SSMSession', 'Connect-SSMSession' -ParameterName DocumentName -ScriptBlock $completer
    Register-ArgumentCompleter -CommandName 'Start-SSMSession', 'Stop-SSMSession', 'Resume-SSMSession' -ParameterName Select -ScriptBlock $completer
}
