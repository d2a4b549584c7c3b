#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

Describe 'SSMSession module' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        $pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    }

    It 'has a valid manifest that exports exactly the public functions' {
        $manifest = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
        $publicFiles = Get-ChildItem ([System.IO.Path]::Combine($repositoryRoot, 'powershell', 'Public')) -Filter '*.ps1' |
            ForEach-Object BaseName | Sort-Object
        @($manifest.ExportedFunctions.Keys | Sort-Object) | Should -Be $publicFiles
        $manifest.ExportedAliases.Count | Should -Be 0
        $manifest.ExportedVariables.Count | Should -Be 0
        $manifest.ExportedCmdlets.Count | Should -Be 0
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.PowerShellVersion | Should -Be ([version]'7.2')
        $data = Import-PowerShellDataFile -LiteralPath $manifestPath
        $moduleBase = Split-Path $manifestPath -Parent
        foreach ($file in @($data.RootModule) + @($data.FormatsToProcess) + @($data['FileList'] | Where-Object { $_ })) {
            Join-Path $moduleBase $file | Should -Exist
        }
    }

    It 'imports idempotently with -Force' {
        Import-Module $manifestPath -Force
        Import-Module $manifestPath -Force
        @(Get-Module SSMSession).Count | Should -Be 1
        (Get-Command Start-SSMSession).Module.Name | Should -Be 'SSMSession'
        @((Get-Module SSMSession).ExportedCommands.Keys | Sort-Object) | Should -Be @('Connect-SSMSession', 'Enter-SSMSession', 'Get-SSMPortForward', 'Invoke-SSMSessionCommand', 'New-SSMSessionCommandDocument', 'Resume-SSMSession', 'Start-SSMSession', 'Start-SSMSessionEmulator', 'Stop-SSMSession')
    }

    It 'exports no private helper' {
        Import-Module $manifestPath -Force
        Get-Command -Module SSMSession -Name Invoke-SSMOperation -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'keeps the variables that the dot-sourced Use-SSMCallerPreference makes out of every command that runs it' {
        # Dot-sourced, its parameters become variables of the command: a command with a
        # parameter or a variable of the same name would have it replaced.
        $helper = [System.Management.Automation.Language.Parser]::ParseFile(
            [System.IO.Path]::Combine($repositoryRoot, 'powershell', 'Private', 'Use-SSMCallerPreference.ps1'), [ref]$null, [ref]$null)
        $made = @($helper.FindAll({ param($node) $node -is [System.Management.Automation.Language.ParameterAst] }, $true) |
                ForEach-Object { $_.Name.VariablePath.UserPath })
        $made | Should -Be @('Cmdlet', 'BoundParameters')
        $runners = 0
        foreach ($file in Get-ChildItem ([System.IO.Path]::Combine($repositoryRoot, 'powershell', 'Public')) -Filter '*.ps1') {
            $ast = [System.Management.Automation.Language.Parser]::ParseFile($file.FullName, [ref]$null, [ref]$null)
            $dotSourced = $ast.FindAll({ param($node)
                    $node -is [System.Management.Automation.Language.CommandAst] -and
                    $node.InvocationOperator -eq 'Dot' -and $node.GetCommandName() -eq 'Use-SSMCallerPreference' }, $true)
            if (-not $dotSourced) { continue }
            $runners++
            $variables = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.VariableExpressionAst] }, $true) |
                ForEach-Object { $_.VariablePath.UserPath }
            foreach ($name in $made) {
                $variables | Should -Not -Contain $name -Because "$($file.BaseName) dot-sources Use-SSMCallerPreference, which sets `$$name in its scope"
            }
        }
        # Connect-, Enter-, Invoke-SSMSessionCommand and New-SSMSessionCommandDocument (Start-,
        # Stop- and Resume-SSMSession take their caller's preferences in Invoke-SSMApiCommand).
        $runners | Should -BeGreaterOrEqual 4
    }

    It 'declares the same client parameters in every command that calls AWS' {
        Import-Module $manifestPath -Force
        $names = & (Get-Module SSMSession) { $script:SSMClientParameterNames }
        $callers = Get-Command -Module SSMSession | Where-Object { $_.Parameters.ContainsKey('AccessKey') }
        @($callers).Count | Should -BeGreaterOrEqual 7
        foreach ($command in $callers) {
            foreach ($name in $names) {
                $command.Parameters.ContainsKey($name) | Should -BeTrue -Because "$($command.Name) builds its client from -$name"
            }
        }
    }

    It 'does not load the native library at import, only on the first call, which works in a fresh process' {
        # With an empty home (as on a new machine or a CI runner) pwsh has no start-up
        # profile, which otherwise preloads the assemblies earlier runs used: the child has
        # not loaded Microsoft.PowerShell.Utility's assembly, whose JSON reader the module
        # uses. The call's answer (the connection failure, not a type the module could not
        # find) shows that the first envelope was read anyway.
        $probe = @'
Import-Module '__MANIFEST__'
$loaded = { [bool]([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object FileName -like '*libssmsession*') }
"import:" + (& $loaded)
try { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl http://127.0.0.1:9 -AccessKey AKIDX -SecretKey x -ErrorAction Stop } catch { "error:" + $_.FullyQualifiedErrorId }
"call:" + (& $loaded)
'@.Replace('__MANIFEST__', $manifestPath)
        $savedHome = $env:HOME, $env:XDG_CACHE_HOME
        $env:HOME = $env:XDG_CACHE_HOME = (New-Item -ItemType Directory -Path (Join-Path (Get-PSDrive TestDrive).Root 'fresh-home') -Force).FullName
        try {
            $output = & $pwshPath -NoProfile -NonInteractive -Command $probe 2>&1
        } finally {
            $env:HOME, $env:XDG_CACHE_HOME = $savedHome
        }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join [System.Environment]::NewLine)
        $output | Should -Contain 'import:False'
        $output | Should -Contain 'error:SSMSession.ConnectionFailure,Start-SSMSession'
        $output | Should -Contain 'call:True'
    }

    It 'gives every exported command help with a synopsis, a description, an example and every parameter described' {
        Import-Module $manifestPath -Force
        foreach ($command in Get-Command -Module SSMSession) {
            $help = Get-Help $command.Name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "$($command.Name) needs a description"
            @($help.Examples.Example).Count | Should -BeGreaterThan 0
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            foreach ($parameter in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
                $described = $help.Parameters.Parameter | Where-Object Name -eq $parameter
                ($described.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "parameter $parameter needs a description"
            }
        }
    }

    Context 'release package' {
        BeforeAll {
            $packageScript = [System.IO.Path]::Combine($repositoryRoot, 'powershell', 'Build', 'New-SSMSessionPackage.ps1')
            $package = & $packageScript -RepositoryRoot $repositoryRoot -OutputRoot (Join-Path $TestDrive 'out')
            $packageManifest = Join-Path $package.FullName 'SSMSession.psd1'
        }

        It 'is a versioned folder whose manifest lists files that exist' {
            $manifest = Test-ModuleManifest -Path $packageManifest -ErrorAction Stop
            $package.Name | Should -Be $manifest.Version.ToString()
            $manifest.RootModule | Should -Be 'SSMSession.psm1'
            foreach ($file in (Import-PowerShellDataFile -LiteralPath $packageManifest).FileList) {
                Join-Path $package.FullName $file | Should -Exist
            }
            Get-ChildItem -LiteralPath $package.FullName -Filter *.ps1 -Recurse | Should -BeNullOrEmpty -Because 'the functions are merged into SSMSession.psm1'
        }

        It 'carries the gallery metadata, the about_ topic, the emulator and the drop-in plugin' {
            $data = Import-PowerShellDataFile -LiteralPath $packageManifest
            foreach ($tag in 'PSEdition_Core', 'Linux', 'MacOS', 'Windows') {
                $data.PrivateData.PSData.Tags | Should -Contain $tag
            }
            $data.PrivateData.PSData.ProjectUri | Should -Match '^https://'
            $data.PrivateData.PSData.LicenseUri | Should -Match '^https://'
            $data.PrivateData.PSData.ReleaseNotes | Should -Not -BeNullOrEmpty
            $data.FileList | Should -Contain 'en-US/about_SSMSession.help.txt'
            $emulatorFile = 'ssm-emulator' + $(if ($IsWindows) { '.exe' } else { '' })
            @($data.FileList | Where-Object { $_ -like "runtimes/*/native/$emulatorFile" }).Count | Should -BeGreaterThan 0
            $pluginFile = 'session-manager-plugin' + $(if ($IsWindows) { '.exe' } else { '' })
            @($data.FileList | Where-Object { $_ -like "runtimes/*/native/$pluginFile" }).Count | Should -BeGreaterThan 0
            $probe = @'
Import-Module '__MANIFEST__'
(Get-Help about_SSMSession | Out-String)
'@.Replace('__MANIFEST__', $packageManifest)
            $output = (& $pwshPath -NoProfile -NonInteractive -Command $probe 2>&1) -join [System.Environment]::NewLine
            $output | Should -Match 'about_SSMSession'
            $output | Should -Match ([regex]::Escape('SSMSession\Start-SSMSession'))
        }

        It 'holds every source function, and imports in a fresh pwsh with the native library working' {
            $merged = Get-Content -Raw -LiteralPath (Join-Path $package.FullName 'SSMSession.psm1')
            foreach ($file in Get-ChildItem ([System.IO.Path]::Combine($repositoryRoot, 'powershell')) -Filter *.ps1 -Recurse | Where-Object { $_.Directory.Name -in 'Private', 'Public' }) {
                $merged | Should -Match "(?m)^function $([regex]::Escape($file.BaseName)) \{"
            }
            $probe = @'
Import-Module '__MANIFEST__'
(Get-Module SSMSession).ModuleBase
((Get-Module SSMSession).ExportedCommands.Keys | Sort-Object) -join ','
try { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl http://127.0.0.1:9 -AccessKey AKIDX -SecretKey x -ErrorAction Stop } catch { $_.FullyQualifiedErrorId }
'@.Replace('__MANIFEST__', $packageManifest)
            $output = & $pwshPath -NoProfile -NonInteractive -Command $probe 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($output -join [System.Environment]::NewLine)
            $output[0] | Should -Be $package.FullName
            $output[1] | Should -Be 'Connect-SSMSession,Enter-SSMSession,Get-SSMPortForward,Invoke-SSMSessionCommand,New-SSMSessionCommandDocument,Resume-SSMSession,Start-SSMSession,Start-SSMSessionEmulator,Stop-SSMSession'
            # A refused connection is reported by the native core: the packaged library loaded.
            $output[2] | Should -Be 'SSMSession.ConnectionFailure,Start-SSMSession'
        }
    }

    Context 'next to AWS.Tools.SimpleSystemsManagement' {
        BeforeAll {
            # A stand-in for AWS Tools' module: the same three command names, answering 'aws-tools'.
            $fakeRoot = Join-Path $TestDrive 'modules'
            $fakeFolder = Join-Path $fakeRoot 'AWS.Tools.SimpleSystemsManagement'
            New-Item -ItemType Directory -Force -Path $fakeFolder | Out-Null
            Set-Content -LiteralPath (Join-Path $fakeFolder 'AWS.Tools.SimpleSystemsManagement.psm1') -Value @'
function Start-SSMSession { [CmdletBinding()] param([string] $Target) 'aws-tools' }
function Stop-SSMSession { [CmdletBinding()] param([string] $SessionId) 'aws-tools' }
function Resume-SSMSession { [CmdletBinding()] param([string] $SessionId) 'aws-tools' }
'@
            New-ModuleManifest -Path (Join-Path $fakeFolder 'AWS.Tools.SimpleSystemsManagement.psd1') -RootModule 'AWS.Tools.SimpleSystemsManagement.psm1' `
                -FunctionsToExport 'Start-SSMSession', 'Stop-SSMSession', 'Resume-SSMSession' -ModuleVersion '4.1.0'
            function Invoke-Both([string] $First, [string] $Second, [string] $Call) {
                $script = @'
$ErrorActionPreference = 'Stop'
Import-Module '__FIRST__'; Import-Module '__SECOND__'
(Get-Command Start-SSMSession).Source
try { __CALL__ } catch { $_.FullyQualifiedErrorId }
'@.Replace('__FIRST__', $First).Replace('__SECOND__', $Second).Replace('__CALL__', $Call)
                & $pwshPath -NoProfile -NonInteractive -Command $script 2>&1
            }
            $fakeManifest = Join-Path $fakeFolder 'AWS.Tools.SimpleSystemsManagement.psd1'
            $call = 'Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl http://127.0.0.1:9 -AccessKey AKIDX -SecretKey x'
        }

        It 'is reached module-qualified even when AWS Tools was imported last' {
            $output = Invoke-Both -First $manifestPath -Second $fakeManifest -Call "SSMSession\$call"
            $output[0] | Should -Be 'AWS.Tools.SimpleSystemsManagement'
            # Ours answered: the native core reports the refused connection.
            $output[1] | Should -Be 'SSMSession.ConnectionFailure,Start-SSMSession'
            (Invoke-Both -First $manifestPath -Second $fakeManifest -Call 'AWS.Tools.SimpleSystemsManagement\Start-SSMSession -Target i-1')[1] | Should -Be 'aws-tools'
        }

        It 'wins the plain name when imported last' {
            $output = Invoke-Both -First $fakeManifest -Second $manifestPath -Call $call
            $output[0] | Should -Be 'SSMSession'
            $output[1] | Should -Be 'SSMSession.ConnectionFailure,Start-SSMSession'
        }
    }

    Context 'request serialisation' {
        BeforeAll {
            Import-Module $manifestPath -Force
        }

        It 'sends what ConvertTo-Json would send for strings, numbers, booleans, arrays and nested dictionaries' {
            InModuleScope SSMSession {
                $parameters = [System.Collections.Generic.Dictionary[string, string[]]]::new()
                $parameters['portNumber'] = @('80', '8080')
                $request = @{
                    Target = 'i-1'; WaitMs = 100; KeepSession = $true; Reason = $null; Parameters = $parameters
                    Client = @{ Region = 'eu-west-3'; Environment = [ordered]@{ HOME = '/home/zoë "q" \ <x> & +' } }
                }
                $fast = ConvertTo-SSMJson -InputObject $request | ConvertFrom-Json -AsHashtable
                $reference = ConvertTo-Json -InputObject $request -Depth 10 -Compress | ConvertFrom-Json -AsHashtable
                $fast.Target | Should -Be $reference.Target
                $fast.WaitMs | Should -Be 100
                $fast.KeepSession | Should -BeTrue
                $fast.ContainsKey('Reason') | Should -BeTrue
                $fast.Reason | Should -BeNullOrEmpty
                $fast.Parameters.portNumber | Should -Be @('80', '8080')
                $fast.Client.Region | Should -Be 'eu-west-3'
                $fast.Client.Environment.HOME | Should -BeExactly $reference.Client.Environment.HOME
            }
        }

        It 'still serialises a request holding a value PowerShell wrapped in a PSObject' {
            InModuleScope SSMSession {
                $request = @{ Target = [psobject]'i-1'; Client = @{ Region = 'eu-west-3' } }
                $sent = ConvertTo-SSMJson -InputObject $request | ConvertFrom-Json
                $sent.Target | Should -BeExactly 'i-1'
                $sent.Client.Region | Should -BeExactly 'eu-west-3'
            }
        }
    }

    Context 'tab completion' {
        BeforeAll {
            Import-Module $manifestPath -Force
            $complete = {
                param([string] $InputScript)
                (TabExpansion2 -inputScript $InputScript -cursorColumn $InputScript.Length).CompletionMatches.CompletionText
            }
        }

        It 'completes regions, documents and -Select values without any network' {
            & $complete 'Start-SSMSession -Region eu-west-' | Should -Be @('eu-west-1', 'eu-west-2', 'eu-west-3')
            & $complete 'Start-SSMSession -DocumentName AWS-StartPortForwardingSessionTo' |
                Should -Be @('AWS-StartPortForwardingSessionToRemoteHost', 'AWS-StartPortForwardingSessionToSocket')
            & $complete 'Start-SSMSession -Select Sess' | Should -Be @('SessionId', 'SessionId.Length')
            & $complete 'Start-SSMSession -Select ^Doc' | Should -Be @("'^DocumentName'")
        }

        It 'completes the same for the other session commands, with their own -Select values' {
            & $complete 'Connect-SSMSession -Target i-1 -Region us-west-' | Should -Be @('us-west-1', 'us-west-2')
            & $complete 'Connect-SSMSession -Target i-1 -DocumentName AWS-StartPortForwardingSessionToR' |
                Should -Be @('AWS-StartPortForwardingSessionToRemoteHost')
            & $complete 'Stop-SSMSession -Select ^' | Should -Be @("'^SessionId'")
            & $complete 'Resume-SSMSession -Select T' | Should -Be @('TokenValue')
        }

        It 'completes profile names from the profile file given with -ProfileLocation' {
            $file = Join-Path (Get-PSDrive TestDrive).Root 'completion-credentials'
            Set-Content -LiteralPath $file -Value '[default]', '[prod-admin]', '[profile staging]', '[sso-session corp]'
            & $complete "Start-SSMSession -ProfileLocation '$file' -ProfileName " | Should -Be @('default', 'prod-admin', 'staging')
        }
    }
}

