@{
    RootModule           = 'powershell/SSMSession.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '0d7b3014-7479-4a00-8e13-f940f194e590'
    Author               = 'SSMSession contributors'
    CompanyName          = 'SSMSession'
    Copyright            = '(c) SSMSession contributors. Apache License 2.0.'
    Description          = 'AWS Systems Manager Session Manager for PowerShell on a Rust core: Start-, Stop- and Resume-SSMSession compatible with AWS Tools for PowerShell, port forwarding without the session-manager-plugin (Connect-SSMSession), and a local emulator for offline use.'
    PowerShellVersion    = '7.2'
    CompatiblePSEditions = @('Core')
    FunctionsToExport    = @('Connect-SSMSession', 'Enter-SSMSession', 'Get-SSMPortForward', 'Invoke-SSMSessionCommand', 'New-SSMSessionCommandDocument', 'Resume-SSMSession', 'Start-SSMSession', 'Start-SSMSessionEmulator', 'Stop-SSMSession')
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    FormatsToProcess     = @('powershell/SSMSession.format.ps1xml')
    PrivateData          = @{
        PSData = @{
            Tags         = @('AWS', 'SSM', 'SessionManager', 'SystemsManager', 'PSEdition_Core', 'Linux', 'MacOS', 'Windows')
            ProjectUri   = 'https://github.com/ssmsession/ssmsession'
            LicenseUri   = 'https://github.com/ssmsession/ssmsession/blob/main/LICENSE'
            ReleaseNotes = 'Start-SSMSession, Stop-SSMSession and Resume-SSMSession through the native core; Connect-SSMSession forwards ports over the native data channel (smux or basic, ResumeSession reconnects); local SSM emulator with a fake agent.'
        }
    }
}
