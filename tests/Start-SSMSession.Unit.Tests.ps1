#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Start-SSMSession with the native call mocked: what it sends, what it returns, how it
# reports failures. The real library is exercised in Start-SSMSession.Emulator.Tests.ps1.

Describe 'Start-SSMSession (native call mocked)' {
    BeforeAll {
        Import-Module (Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1') -Force
        $success = [pscustomobject]@{
            ok   = $true
            data = [pscustomobject]@{
                SessionId = 'alice-0123456789abcdef0'; StreamUrl = 'wss://example/v1/data-channel/x'; TokenValue = 'token'
                RequestId = 'req-1'; HttpStatusCode = 200; ContentLength = 123
            }
        }
        function New-Failure([string]$Kind, [string]$Code, [string]$Message) {
            [pscustomobject]@{
                ok    = $false
                error = [pscustomobject]@{ kind = $Kind; code = $Code; message = $Message; requestId = 'req-2'; httpStatus = 400 }
            }
        }
    }

    BeforeEach {
        Mock -ModuleName SSMSession Invoke-SSMNative { $success }
    }

    Context 'parameter declaration' {
        BeforeAll {
            $command = Get-Command Start-SSMSession
        }

        It 'declares <Name> with aliases <Aliases>' -ForEach @(
            @{ Name = 'Parameter'; Aliases = @('Parameters') }
            @{ Name = 'AccessKey'; Aliases = @('AK') }
            @{ Name = 'SecretKey'; Aliases = @('SK', 'SecretAccessKey') }
            @{ Name = 'SessionToken'; Aliases = @('ST') }
            @{ Name = 'ProfileName'; Aliases = @('StoredCredentials', 'AWSProfileName') }
            @{ Name = 'ProfileLocation'; Aliases = @('AWSProfilesLocation', 'ProfilesLocation') }
            @{ Name = 'Region'; Aliases = @('RegionToCall') }
        ) {
            @($command.Parameters[$Name].Aliases) | Should -Be $Aliases
        }

        It 'makes DocumentName the only positional parameter and binds it from the pipeline by value' {
            $positional = $command.Parameters.Values | Where-Object {
                $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.Position -ge 0 }
            }
            @($positional.Name) | Should -Be @('DocumentName')
            $attribute = $command.Parameters['DocumentName'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $attribute.Position | Should -Be 0
            $attribute.ValueFromPipeline | Should -BeTrue
            $attribute.ValueFromPipelineByPropertyName | Should -BeTrue
        }

        It 'requires Target but allows null and empty values' {
            $attributes = $command.Parameters['Target'].Attributes
            ($attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory | Should -BeTrue
            $attributes.TypeId.Name | Should -Contain 'AllowNullAttribute'
            $attributes.TypeId.Name | Should -Contain 'AllowEmptyStringAttribute'
        }

        It 'supports ShouldProcess with medium impact' {
            $command.Parameters.Keys | Should -Contain 'WhatIf'
            $metadata = [System.Management.Automation.CommandMetadata]::new($command)
            $metadata.ConfirmImpact | Should -Be 'Medium'
        }
    }

    Context 'request' {
        It 'sends only the API fields that were bound' {
            Start-SSMSession -Target i-1 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'start_session' -and $Request.Target -eq 'i-1' -and
                -not $Request.ContainsKey('DocumentName') -and -not $Request.ContainsKey('Reason') -and -not $Request.ContainsKey('Parameters')
            }
        }

        It 'turns -Parameter values into lists of strings' {
            Start-SSMSession -Target i-1 -Parameter @{ portNumber = 80; hosts = @('a', 'b'); name = 'x' } | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter {
                ($Request.Parameters.portNumber -join ',') -eq '80' -and
                ($Request.Parameters.hosts -join ',') -eq 'a,b' -and
                @($Request.Parameters.name).Count -eq 1
            }
        }

        It 'rejects a null -Parameter value before calling the service' {
            { Start-SSMSession -Target i-1 -Parameter @{ portNumber = $null } } |
                Should -Throw -ErrorId 'ArgumentException,Start-SSMSession' -ExpectedMessage "*'portNumber'*"
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 0 -Exactly
        }

        It 'accepts a region as a string or as a region object' -ForEach @(
            @{ Value = 'eu-west-3' }
            @{ Value = [pscustomobject]@{ SystemName = 'eu-west-3' } }
            @{ Value = [pscustomobject]@{ Region = 'eu-west-3' } }
        ) {
            Start-SSMSession -Target i-1 -Region $Value | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter { $Request.Client.Region -eq 'eu-west-3' }
        }

        It 'rejects a region of another type with the AWS Tools message' {
            { Start-SSMSession -Target i-1 -Region 42 } |
                Should -Throw -ExpectedMessage 'Unsupported parameter type; Region must be a string*'
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 0 -Exactly
        }

        It 'sends credential and endpoint parameters, by name or alias' {
            Start-SSMSession -Target i-1 -AK AKIDX -SecretAccessKey s -ST t -AWSProfileName p -EndpointUrl http://127.0.0.1:5 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter {
                $Request.Client.AccessKey -eq 'AKIDX' -and $Request.Client.SecretKey -eq 's' -and $Request.Client.SessionToken -eq 't' -and
                $Request.Client.ProfileName -eq 'p' -and $Request.Client.EndpointUrl -eq 'http://127.0.0.1:5'
            }
        }

        It 'resolves a relative -ProfileLocation against the PowerShell location' {
            Push-Location TestDrive:
            try {
                Start-SSMSession -Target i-1 -ProfileLocation 'creds' | Out-Null
            } finally {
                Pop-Location
            }
            $expected = Join-Path (Get-PSDrive TestDrive).Root 'creds'
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter { $Request.Client.ProfileLocation -eq $expected }
        }

        It 'sends the AWS_* variables of this session, which native code cannot see on its own' {
            $env:AWS_SSMSESSION_UNIT_PROBE = 'seen'
            try {
                Start-SSMSession -Target i-1 | Out-Null
            } finally {
                Remove-Item Env:AWS_SSMSESSION_UNIT_PROBE
            }
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter {
                $Request.Client.Environment['AWS_SSMSESSION_UNIT_PROBE'] -eq 'seen' -and -not $Request.Client.Environment.ContainsKey('PATH')
            }
        }

        It 'calls once per piped document name' {
            'AWS-StartSSHSession', 'AWS-StartPortForwardingSession' | Start-SSMSession -Target i-1 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter { $Request.DocumentName -eq 'AWS-StartSSHSession' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter { $Request.DocumentName -eq 'AWS-StartPortForwardingSession' }
        }

        It 'binds piped objects by property name' {
            [pscustomobject]@{ Target = 'i-9'; DocumentName = 'AWS-StartSSHSession'; Region = 'ap-south-2'; Reason = 'why' } | Start-SSMSession | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly -ParameterFilter {
                $Request.Target -eq 'i-9' -and $Request.DocumentName -eq 'AWS-StartSSHSession' -and $Request.Client.Region -eq 'ap-south-2' -and $Request.Reason -eq 'why'
            }
        }

        It 'says where it calls in the verbose stream' {
            $verbose = Start-SSMSession -Target i-1 -EndpointUrl http://127.0.0.1:5 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $verbose.Message | Should -Contain "Invoking AWS Systems Manager operation 'StartSession' on endpoint 'http://127.0.0.1:5'"
        }
    }

    Context 'ShouldProcess' {
        It 'does not call the service with -WhatIf, even with -Force' {
            Start-SSMSession -Target i-1 -DocumentName AWS-StartSSHSession -WhatIf -Force | Should -BeNullOrEmpty
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 0 -Exactly
        }

        It 'calls the service with -Force' {
            Start-SSMSession -Target i-1 -Force | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMNative -Times 1 -Exactly
        }
    }

    Context 'output' {
        It 'returns a StartSessionResponse with the service fields and metadata' {
            $response = Start-SSMSession -Target i-1
            $response.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.StartSessionResponse'
            $response.SessionId | Should -Be 'alice-0123456789abcdef0'
            $response.StreamUrl | Should -Be 'wss://example/v1/data-channel/x'
            $response.TokenValue | Should -Be 'token'
            $response.ResponseMetadata.RequestId | Should -Be 'req-1'
            $response.ContentLength | Should -Be 123
            $response.HttpStatusCode | Should -Be ([System.Net.HttpStatusCode]::OK)
        }

        It 'shows SessionId, StreamUrl and TokenValue as a table by default' {
            $text = Start-SSMSession -Target i-1 | Out-String -Width 300
            $text | Should -Match 'SessionId\s+StreamUrl\s+TokenValue'
            $text | Should -Not -Match 'ResponseMetadata'
        }
    }

    Context 'errors' {
        It 'maps <Kind>/<Code> to ErrorId <ErrorId> and category <Category>' -ForEach @(
            @{ Kind = 'service'; Code = 'TargetNotConnected'; ErrorId = 'Amazon.SimpleSystemsManagement.Model.TargetNotConnectedException'; Category = 'InvalidOperation' }
            @{ Kind = 'service'; Code = 'InvalidDocument'; ErrorId = 'Amazon.SimpleSystemsManagement.Model.InvalidDocumentException'; Category = 'InvalidOperation' }
            @{ Kind = 'service'; Code = 'AccessDeniedException'; ErrorId = 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException'; Category = 'InvalidOperation' }
            @{ Kind = 'credentials'; Code = 'NoCredentials'; ErrorId = 'InvalidOperationException'; Category = 'InvalidOperation' }
            @{ Kind = 'region'; Code = 'NoRegion'; ErrorId = 'InvalidOperationException'; Category = 'InvalidOperation' }
            @{ Kind = 'transport'; Code = 'ConnectionFailure'; ErrorId = 'SSMSession.ConnectionFailure'; Category = 'ConnectionError' }
            @{ Kind = 'timeout'; Code = 'Timeout'; ErrorId = 'SSMSession.Timeout'; Category = 'OperationTimeout' }
            @{ Kind = 'panic'; Code = 'Panic'; ErrorId = 'SSMSession.InternalError'; Category = 'NotSpecified' }
        ) {
            Mock -ModuleName SSMSession Invoke-SSMNative { New-Failure $Kind $Code 'it failed' }
            $caught = $null
            try { Start-SSMSession -Target i-1 -ErrorAction SilentlyContinue } catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty -Because 'failures are terminating even with -ErrorAction SilentlyContinue'
            $caught.FullyQualifiedErrorId | Should -Be "$ErrorId,Start-SSMSession"
            $caught.CategoryInfo.Category | Should -Be $Category
            $caught.Exception.Message | Should -Be 'it failed'
            $caught.Exception.Data['ErrorCode'] | Should -Be $Code
            $caught.Exception.Data['RequestId'] | Should -Be 'req-2'
        }
    }
}
