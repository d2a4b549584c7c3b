#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Plain-text endpoints: http:// and ws:// carry signed requests, session tokens and session
# data in the clear, so they are refused beyond loopback unless SSMSESSION_ALLOW_HTTP=1, and
# then come with a warning. Nothing here sends a packet: refusals happen before connecting,
# and the opted-in case stops at -WhatIf (192.0.2.0/24 is a documentation range anyway).

Describe 'unencrypted endpoints' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module (Join-Path $repositoryRoot 'SSMSession.psd1') -Force
        $savedAllow = $env:SSMSESSION_ALLOW_HTTP
        $keys = @{ Region = 'eu-west-3'; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
        $remote = 'http://192.0.2.10:8080'
    }

    AfterEach {
        Remove-Item Env:SSMSESSION_ALLOW_HTTP -ErrorAction SilentlyContinue
        Remove-Item Env:AWS_ENDPOINT_URL -ErrorAction SilentlyContinue
    }

    AfterAll {
        if ($null -ne $savedAllow) { $env:SSMSESSION_ALLOW_HTTP = $savedAllow }
    }

    It 'refuses http:// to a host that is not loopback, saying how to opt in' {
        $caught = $null
        try { Start-SSMSession -Target i-1 -EndpointUrl $remote @keys } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InsecureEndpoint,Start-SSMSession'
        $caught.Exception.Message | Should -BeLike "Refusing unencrypted http:// to '192.0.2.10'*SSMSESSION_ALLOW_HTTP=1*"
    }

    It 'refuses it from AWS_ENDPOINT_URL as well, not only from -EndpointUrl' {
        $env:AWS_ENDPOINT_URL = $remote
        $caught = $null
        try { Stop-SSMSession -SessionId s-1 -Force @keys } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InsecureEndpoint,Stop-SSMSession'
    }

    It 'allows it after the opt-in, with a warning on every call' {
        $env:SSMSESSION_ALLOW_HTTP = '1'
        foreach ($attempt in 1..2) {
            $warnings = $null
            Start-SSMSession -Target i-1 -EndpointUrl $remote @keys -WhatIf -WarningVariable warnings -WarningAction SilentlyContinue
            @($warnings).Count | Should -Be 1
            "$($warnings[0])" | Should -BeLike "The endpoint '192.0.2.10' is reached over unencrypted http://*in the clear*"
        }
    }

    It 'refuses a ws:// data channel to a host that is not loopback' {
        $caught = $null
        try {
            Connect-SSMSession -SessionId s-1 -StreamUrl 'ws://192.0.2.10/v1/data-channel/s-1?role=publish_subscribe' -TokenValue t -AsJob `
                -EndpointUrl 'http://127.0.0.1:9' @keys
        } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InsecureEndpoint,Connect-SSMSession'
        $caught.Exception.Message | Should -BeLike "Refusing unencrypted ws:// to '192.0.2.10'*"
    }
}
