function Invoke-SSMApiCommand {
    <#
    .SYNOPSIS
    One pipeline record of Start-, Stop- or Resume-SSMSession, in AWS Tools' order.

    .DESCRIPTION
    Takes the caller's preferences, builds the request, resolves credentials and region
    (failing before any prompt), asks ShouldProcess (-WhatIf wins over -Force; -Force alone
    skips the prompt), checks -Select, calls the operation, makes the response object AWS
    Tools returns and records it (or the failure) for $AWSHistory in the run, remembers a
    started session's client settings for Connect-SSMSession, and writes the -Select result,
    counting what it writes. A failure records the run in $AWSHistory and terminates the
    public command with its ErrorRecord.

    This is the warm path's one function of its own: its steps are inline rather than
    helpers, because each PowerShell call costs ~15-20 µs there (see "Plain functions" in
    SSMSession.psm1); only the rare branches (-Select paths, errors, resolving first) call
    out.

    .PARAMETER Cmdlet
    The public command's $PSCmdlet (ShouldProcess, the caller's stored credentials).

    .PARAMETER BoundParameters
    The public command's $PSBoundParameters.

    .PARAMETER Operation
    StartSession, TerminateSession or ResumeSession.

    .PARAMETER ShouldProcessTarget
    What ShouldProcess names as the target (the document name or session id).

    .PARAMETER ErrorTarget
    The TargetObject of error records.

    .PARAMETER Run
    The command's run (New-SSMApiRun): its explicit parameters, and what $AWSHistory
    records.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([object])]
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [System.Collections.IDictionary] $BoundParameters,

        [ValidateSet('StartSession', 'TerminateSession', 'ResumeSession')]
        [string] $Operation,

        [AllowNull()]
        [AllowEmptyString()]
        [string] $ShouldProcessTarget,

        [AllowNull()]
        [object] $ErrorTarget,

        [pscustomobject] $Run
    )

    # The caller's preferences, as Use-SSMCallerPreference gives other commands, but as this
    # function's own variables: -WhatIf, -Confirm, -Verbose and -Debug, and ShouldProcess,
    # read them from the current scope. (A dot-sourced helper in the command's begin block
    # cost one more PowerShell call on every warm call.)
    if (-not $BoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = $Cmdlet.SessionState.PSVariable.GetValue('ConfirmPreference') }
    if (-not $BoundParameters.ContainsKey('WhatIf')) { $WhatIfPreference = $Cmdlet.SessionState.PSVariable.GetValue('WhatIfPreference') }
    if (-not $BoundParameters.ContainsKey('Verbose')) { $VerbosePreference = $Cmdlet.SessionState.PSVariable.GetValue('VerbosePreference') }
    if (-not $BoundParameters.ContainsKey('Debug')) { $DebugPreference = $Cmdlet.SessionState.PSVariable.GetValue('DebugPreference') }

    try {
        $built = ConvertTo-SSMServiceRequest -BoundParameters $BoundParameters -Cmdlet $Cmdlet -ExplicitParameters $Run.ExplicitParameters
        $request = $built.Request

        $verbose = $VerbosePreference -ne 'SilentlyContinue' -and $VerbosePreference -ne 'Ignore'
        $debug = $DebugPreference -ne 'SilentlyContinue' -and $DebugPreference -ne 'Ignore'
        # -WhatIf wins over -Force; -Force alone skips ShouldProcess and so any prompt.
        # $WhatIfPreference (set by -WhatIf, or by the caller) counts as -WhatIf: AWS Tools would
        # run the command when it is set in a session and -Force is given.
        $askFirst = $WhatIfPreference -or -not $BoundParameters['Force']
        # Credentials and region resolve before ShouldProcess, as in AWS Tools: -WhatIf and
        # a prompt come only with a working client. When nothing is asked or shown before
        # the call (no -WhatIf, no prompt: the commands' ConfirmImpact, Medium, is below
        # $ConfirmPreference; no verbose or debug messages), the call resolves its client
        # itself and reports the client's warnings: one native round trip instead of two.
        $resolveFirst = $verbose -or $debug -or $WhatIfPreference -or
            ($askFirst -and $ConfirmPreference -ne 'None' -and $ConfirmPreference -ne 'High')
        $resolution = $null
        if ($resolveFirst) {
            $resolved = Resolve-SSMClient -Client $request.Client
            if (-not $resolved.Ok) {
                throw (ConvertTo-SSMErrorRecord -ErrorInfo $resolved.Error -TargetObject $ErrorTarget)
            }
            $resolution = $resolved.Data
            # Written only when shown: Write-Debug costs about 40 µs even when silent.
            if ($debug) {
                Write-Debug "Credentials obtained from $(if ($built.CredentialOrigin) { $built.CredentialOrigin } else { $resolution.CredentialSource })"
                Write-Debug "Region obtained from $(if ($built.RegionOrigin) { $built.RegionOrigin } else { $resolution.RegionSource }) with value '$($resolution.Region)'"
            }
        }
        if ($askFirst -and -not $Cmdlet.ShouldProcess([string]$ShouldProcessTarget, "$($Cmdlet.MyInvocation.MyCommand.Name) ($Operation)")) {
            return
        }
        $selectBound = $BoundParameters.ContainsKey('Select')
        $passThru = [bool]$BoundParameters['PassThru']
        $selector = if (-not $selectBound -and -not $passThru) {
            $script:SSMDefaultSelectors[$Operation]
        } else {
            ConvertTo-SSMSelector -Operation $Operation -Select $BoundParameters['Select'] -SelectBound:$selectBound -PassThru:$passThru
        }

        # Built only when it is shown: every call pays for it otherwise.
        if ($verbose) {
            Write-Verbose "Invoking AWS Systems Manager operation '$Operation' $(Get-SSMDestinationText -Client $request.Client -Region $resolution.Region)"
        }
        $envelope = Invoke-SSMOperation -Operation $Operation -Request $request
        if (-not $resolveFirst) {
            # The client's warnings (an opted-in plain-text endpoint), which Resolve-SSMClient
            # writes when it runs first; the call reports them, with its data or its error,
            # when there are any.
            if ($envelope.Ok) { $carrier = $envelope.Data } else { $carrier = $envelope.Error }
            $warnings = $carrier.PSObject.Properties['ClientWarnings']
            if ($null -ne $warnings) {
                foreach ($warning in $warnings.Value) { Write-Warning $warning }
            }
        }
        if (-not $envelope.Ok) {
            $failure = ConvertTo-SSMErrorRecord -ErrorInfo $envelope.Error -TargetObject $ErrorTarget
            $logged = [psobject]($failure.Exception.InnerException ?? $failure.Exception)
            $logged.PSObject.Properties.Add([psnoteproperty]::new('LoggedAt', [datetime]::Now))
            $Run.Responses.Add($logged)
            throw $failure
        }
        # The response object AWS Tools returns: the declared properties of the operation's
        # response type (StartSessionResponse and ResumeSessionResponse: SessionId,
        # StreamUrl, TokenValue; TerminateSessionResponse: SessionId), plus the inherited
        # ResponseMetadata (RequestId, Metadata), ContentLength and HttpStatusCode. The type
        # name selects the view in SSMSession.format.ps1xml.
        $data = $envelope.Data
        $fields = [ordered]@{
            PSTypeName = "Amazon.SimpleSystemsManagement.Model.$($Operation)Response"
            SessionId  = $data.SessionId
        }
        if ($Operation -ne 'TerminateSession') {
            $fields.StreamUrl = $data.StreamUrl
            $fields.TokenValue = $data.TokenValue
        }
        $fields.ResponseMetadata = [pscustomobject]@{
            PSTypeName = 'Amazon.Runtime.ResponseMetadata'
            RequestId  = $data.RequestId
            Metadata   = @{}
        }
        $fields.ContentLength = [long]$(if ($null -ne $data.ContentLength) { $data.ContentLength } else { -1 })
        $fields.HttpStatusCode = [System.Net.HttpStatusCode][int]$data.HttpStatusCode
        $response = [pscustomobject]$fields
        # $AWSHistory's copy, with LoggedAt (the output has none, as in AWS Tools): each
        # conversion of the dictionary makes a new object, cheaper than copying the first.
        $fields.LoggedAt = [datetime]::Now
        $Run.Responses.Add([pscustomobject]$fields)

        if ($Operation -eq 'StartSession' -and $response.SessionId) {
            # Connect-SSMSession reuses the settings a session was started with for a piped
            # session given no credential, region or endpoint parameters, so that
            # "Start-SSMSession ... | Connect-SSMSession" signs, resumes and terminates with
            # what started it (see Get-SSMSessionClient). Module memory only, like
            # $StoredAWSCredentials; at most 256 sessions, the oldest dropped first.
            $clients = $script:SSMSessionClients
            if ($null -eq $clients) {
                $clients = [System.Collections.Specialized.OrderedDictionary]::new()
                $script:SSMSessionClients = $clients
            }
            if (-not $clients.Contains($response.SessionId) -and $clients.Count -ge 256) {
                $clients.RemoveAt(0)
            }
            $clients[$response.SessionId] = $request.Client
        }
        if ($selector.Kind -eq 'All') {
            $Run.EmittedCount++
            $response
        } else {
            foreach ($output in (Select-SSMResponse -Selector $selector -Response $response -BoundParameters $BoundParameters)) {
                $Run.EmittedCount++
                $output
            }
        }
    } catch {
        # A terminating error skips the command's end block: record the run now.
        Complete-SSMApiRun -Cmdlet $Cmdlet -Run $Run
        $Cmdlet.ThrowTerminatingError($_)
    }
}
