function ConvertFrom-SSMJson {
    <#
    .SYNOPSIS
    Reads a native envelope's JSON into PowerShell objects, as ConvertFrom-Json would.

    .DESCRIPTION
    Objects become PSCustomObjects (properties in document order), arrays object[],
    integers Int64 (Double when they do not fit), strings, booleans and null as themselves.
    System.Text.Json's JsonDocument does the parsing: it is ready in ~10 ms in a fresh
    pwsh, where ConvertFrom-Json first loads and compiles Newtonsoft.Json (~80 ms, measured
    on the first Start-SSMSession of a process), and it is as fast afterwards.

    .PARAMETER Json
    The JSON text.
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param(
        [Parameter(Mandatory)]
        [string] $Json
    )

    # JsonValueKind as numbers (1 Object, 2 Array, 3 String, 4 Number, 5 True, 6 False,
    # 7 Null): comparing integers is several times cheaper in PowerShell than comparing
    # enum values. One script block for containers; scalars are read inline.
    $convert = {
        param([System.Text.Json.JsonElement] $Element)
        $kind = [int]$Element.ValueKind
        if ($kind -eq 1) {
            $properties = [ordered]@{}
            foreach ($property in $Element.EnumerateObject()) {
                $value = $property.Value
                $valueKind = [int]$value.ValueKind
                $properties[$property.Name] = if ($valueKind -eq 3) {
                    $value.GetString()
                } elseif ($valueKind -le 2) {
                    # The comma keeps an array an array (even with one or no element).
                    , (& $convert $value)
                } elseif ($valueKind -eq 4) {
                    $integer = 0L
                    if ($value.TryGetInt64([ref]$integer)) { $integer } else { $value.GetDouble() }
                } elseif ($valueKind -eq 5) {
                    $true
                } elseif ($valueKind -eq 6) {
                    $false
                } else {
                    $null
                }
            }
            return [pscustomobject]$properties
        }
        if ($kind -eq 2) {
            $items = [System.Collections.Generic.List[object]]::new()
            foreach ($item in $Element.EnumerateArray()) {
                $items.Add($(& $convert $item))
            }
            return , $items.ToArray()
        }
        if ($kind -eq 3) { return $Element.GetString() }
        if ($kind -eq 4) {
            $integer = 0L
            if ($Element.TryGetInt64([ref]$integer)) { return $integer }
            return $Element.GetDouble()
        }
        if ($kind -eq 5) { return $true }
        if ($kind -eq 6) { return $false }
        $null
    }

    $document = [System.Text.Json.JsonDocument]::Parse($Json)
    try {
        & $convert $document.RootElement
    } finally {
        $document.Dispose()
    }
}
